// Renders /api/openapi.json as a list of operations, each with a form to try it.
// Every text from the document is set with textContent: nothing is parsed as HTML.
"use strict";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  for (const child of children) {
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

async function tryIt(path, method, op, form, output) {
  let url = path;
  const query = new URLSearchParams();
  for (const param of op.parameters || []) {
    const value = form.querySelector(`[data-param="${CSS.escape(param.name)}"]`).value;
    if (param.in === "path") url = url.replace(`{${param.name}}`, encodeURIComponent(value));
    else if (value !== "") query.set(param.name, value);
  }
  if ([...query].length) url += "?" + query.toString();
  const headers = { "Content-Type": "application/json" };
  const token = document.getElementById("token").value;
  if (token) headers.Authorization = "Bearer " + token;
  const body = op.requestBody ? form.querySelector("textarea").value : undefined;
  output.textContent = "…";
  try {
    const response = await fetch(url, { method: method.toUpperCase(), headers, body });
    output.textContent = `${response.status} ${response.statusText}\n\n${await response.text()}`;
  } catch (error) {
    output.textContent = String(error);
  }
}

function operation(path, method, op) {
  const rbac = op["x-rbac"] ? `RBAC: ${op["x-rbac"].resource}, ${op["x-rbac"].action}` : "public";
  const summary = el("summary", {}, el("span", { class: `method ${method}` }, method.toUpperCase()),
    path, " — ", op.summary || "", " ", el("span", { class: "rbac" }, `(${rbac})`));
  const table = el("table", {}, el("tr", {}, el("th", {}, "parameter"), el("th", {}, "in"),
    el("th", {}, "type"), el("th", {}, "value")));
  for (const param of op.parameters || []) {
    table.append(el("tr", {}, el("td", {}, param.name), el("td", {}, param.in),
      el("td", {}, param.schema.type), el("td", {}, el("input", { "data-param": param.name }))));
  }
  const form = el("form", {}, table);
  if (op.requestBody) form.append(el("p", {}, "Body (JSON):"), el("textarea", {}, "{}"));
  const output = el("pre", {});
  const button = el("button", { type: "submit" }, "Send");
  form.append(button);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    tryIt(path, method, op, form, output);
  });
  return el("details", {}, summary, form, output);
}

async function main() {
  const target = document.getElementById("operations");
  const response = await fetch("/api/openapi.json");
  const doc = await response.json();
  const byTag = new Map();
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const tag = (op.tags || ["other"])[0];
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push(operation(path, method, op));
    }
  }
  target.replaceChildren();
  for (const [tag, ops] of [...byTag].sort()) target.append(el("h2", {}, tag), ...ops);
}

main().catch((error) => {
  document.getElementById("operations").textContent = "Could not load the document: " + error;
});
