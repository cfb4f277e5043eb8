// gitward-gotemplate renders ApplicationSet goTemplate trees with Go's own
// text/template and Sprig, so that gitward's output is byte for byte what
// Argo CD's ApplicationSet controller produces for the same input.
//
// It reads one JSON request on stdin and writes one JSON answer on stdout:
//
//	request: {"jobs": [{"tree": ANY, "params": [OBJECT, ...], "options": ["missingkey=error"]}],
//	          "exprs": [{"expr": STRING, "env": OBJECT}]}
//	answer:  {"jobs": [{"results": [{"value": ANY} | {"error": "..."}, ...]}],
//	          "exprs": [{"value": ANY} | {"error": "..."}]}
//
// "exprs" are Argo CD Notifications trigger conditions (“when:“), evaluated by
// expr-lang/expr as Argo CD evaluates them, with the env's keys as variables plus
// “time.Now()“ and “time.Parse(s)“ (RFC 3339). Like templates, they get no
// function that reads the environment, a file or the network.
//
// Every string in a job's tree, and every map key, is parsed as a template and
// executed once per param set, as Argo CD's renderer does. Numbers in params
// decode to float64, as Argo CD's JSON-decoded params do. The function map is
// Sprig's generic map without env, expandenv and getHostByName (templates are
// user input: they must learn nothing about the process's environment or the
// network), plus Argo CD's normalize, slugify, toYaml, fromYaml, fromYamlArray
// and tpl. The program opens no file and no connection; gitward runs it in a
// Landlock jail with an empty environment and a deadline all the same.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"text/template"
	"time"

	"github.com/Masterminds/sprig/v3"
	"github.com/expr-lang/expr"
	"github.com/gosimple/slug"
	"sigs.k8s.io/yaml"
)

type job struct {
	Tree    any              `json:"tree"`
	Params  []map[string]any `json:"params"`
	Options []string         `json:"options"`
}

type exprJob struct {
	Expr string         `json:"expr"`
	Env  map[string]any `json:"env"`
}

type request struct {
	Jobs  []job     `json:"jobs"`
	Exprs []exprJob `json:"exprs"`
}

type result struct {
	Value any    `json:"value"`
	Error string `json:"error,omitempty"`
}

type jobAnswer struct {
	Results []result `json:"results"`
}

type answer struct {
	Jobs  []jobAnswer `json:"jobs"`
	Exprs []result    `json:"exprs,omitempty"`
}

var timeFuncs = map[string]any{
	"Now":   time.Now,
	"Parse": func(s string) (time.Time, error) { return time.Parse(time.RFC3339, s) },
}

func evaluate(e exprJob) result {
	env := map[string]any{"time": timeFuncs}
	for k, v := range e.Env {
		env[k] = v
	}
	program, err := expr.Compile(e.Expr, expr.Env(env))
	if err != nil {
		return result{Error: err.Error()}
	}
	value, err := expr.Run(program, env)
	if err != nil {
		return result{Error: err.Error()}
	}
	if t, ok := value.(time.Time); ok {
		value = t.Format(time.RFC3339)
	}
	return result{Value: value}
}

var funcs = template.FuncMap(sprig.GenericFuncMap())

var invalidDNSNameChars = regexp.MustCompile("[^-a-z0-9.]")

func init() {
	delete(funcs, "env")
	delete(funcs, "expandenv")
	delete(funcs, "getHostByName")
	funcs["normalize"] = sanitizeName
	funcs["slugify"] = slugifyName
	funcs["toYaml"] = toYAML
	funcs["fromYaml"] = fromYAML
	funcs["fromYamlArray"] = fromYAMLArray
}

// sanitizeName is Argo CD's normalize: lower case, [^-a-z0-9.] to '-', at most
// 253 characters, no leading or trailing '-' or '.'.
func sanitizeName(name string) string {
	name = strings.ToLower(name)
	name = invalidDNSNameChars.ReplaceAllString(name, "-")
	if len(name) > 253 {
		name = name[:253]
	}
	return strings.Trim(name, "-.")
}

// slugifyName is Argo CD's slugify: [maxSize [smartTruncate]] name.
func slugifyName(args ...any) string {
	maxSize := 50
	smart := true
	name := ""
	for i, arg := range args {
		switch i {
		case len(args) - 1:
			name, _ = arg.(string)
		case 0:
			if v, ok := arg.(int); ok {
				maxSize = v
			}
		case 1:
			if v, ok := arg.(bool); ok {
				smart = v
			}
		}
	}
	slug.EnableSmartTruncate = smart
	slug.MaxLength = maxSize
	return slug.Make(sanitizeName(name))
}

func toYAML(v any) (string, error) {
	data, err := yaml.Marshal(v)
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(string(data), "\n"), nil
}

func fromYAML(s string) (map[string]any, error) {
	m := map[string]any{}
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		return nil, err
	}
	return m, nil
}

func fromYAMLArray(s string) ([]any, error) {
	a := []any{}
	if err := yaml.Unmarshal([]byte(s), &a); err != nil {
		return nil, err
	}
	return a, nil
}

// tplFor gives templates Argo CD's "tpl": render a string with the same
// functions and options as the template calling it.
func tplFor(parent *template.Template) func(string, any) (string, error) {
	return func(text string, data any) (string, error) {
		t, err := parent.Clone()
		if err != nil {
			return "", fmt.Errorf("cannot clone template: %w", err)
		}
		t, err = t.New(parent.Name()).Parse(text)
		if err != nil {
			return "", fmt.Errorf("cannot parse template %q: %w", text, err)
		}
		var buf strings.Builder
		if err := t.Execute(&buf, data); err != nil {
			return "", fmt.Errorf("error during tpl function execution for %q: %w", text, err)
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
}

// compiled is one parsed string of a tree (or the error parsing it gave).
type compiled struct {
	tmpl *template.Template
	err  error
}

type renderer struct {
	options []string
	cache   map[string]compiled
}

func (r *renderer) parse(text string) compiled {
	if c, ok := r.cache[text]; ok {
		return c
	}
	t := template.New("").Funcs(funcs)
	t = t.Funcs(template.FuncMap{"tpl": tplFor(t)})
	parsed, err := t.Parse(text)
	var c compiled
	if err != nil {
		c = compiled{err: fmt.Errorf("failed to parse template %s: %w", text, err)}
	} else {
		for _, option := range r.options {
			parsed = parsed.Option(option)
		}
		c = compiled{tmpl: parsed}
	}
	r.cache[text] = c
	return c
}

func (r *renderer) replace(text string, params map[string]any) (string, error) {
	c := r.parse(text)
	if c.err != nil {
		return "", c.err
	}
	var buf bytes.Buffer
	if err := c.tmpl.Execute(&buf, params); err != nil {
		return "", fmt.Errorf("failed to execute go template %s: %w", text, err)
	}
	return buf.String(), nil
}

func (r *renderer) render(node any, params map[string]any) (any, error) {
	switch v := node.(type) {
	case string:
		return r.replace(v, params)
	case []any:
		out := make([]any, len(v))
		for i, item := range v {
			rendered, err := r.render(item, params)
			if err != nil {
				return nil, err
			}
			out[i] = rendered
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(v))
		for key, item := range v {
			if item == nil {
				continue // Argo CD's renderer drops nil map values
			}
			rendered, err := r.render(item, params)
			if err != nil {
				return nil, err
			}
			newKey, err := r.replace(key, params)
			if err != nil {
				return nil, err
			}
			out[newKey] = rendered
		}
		return out, nil
	default:
		return v, nil
	}
}

func run(in io.Reader, out io.Writer) error {
	var req request
	decoder := json.NewDecoder(in)
	if err := decoder.Decode(&req); err != nil {
		return fmt.Errorf("reading the request: %w", err)
	}
	ans := answer{Jobs: make([]jobAnswer, len(req.Jobs))}
	for i, j := range req.Jobs {
		for _, option := range j.Options {
			// Option panics on an unknown option: check it here for a clear error.
			if err := checkOption(option); err != nil {
				return err
			}
		}
		r := &renderer{options: j.Options, cache: map[string]compiled{}}
		results := make([]result, len(j.Params))
		for k, params := range j.Params {
			if params == nil {
				params = map[string]any{}
			}
			value, err := r.render(j.Tree, params)
			if err != nil {
				results[k] = result{Error: err.Error()}
			} else {
				results[k] = result{Value: value}
			}
		}
		ans.Jobs[i] = jobAnswer{Results: results}
	}
	for _, e := range req.Exprs {
		ans.Exprs = append(ans.Exprs, evaluate(e))
	}
	encoder := json.NewEncoder(out)
	encoder.SetEscapeHTML(false)
	return encoder.Encode(ans)
}

func checkOption(option string) (err error) {
	defer func() {
		if recover() != nil {
			err = fmt.Errorf("goTemplateOptions: unrecognized option %q", option)
		}
	}()
	template.New("").Option(option)
	return nil
}

// watchMemory ends the process when the Go runtime holds more than limit
// bytes, so a template that allocates without end (Sprig's until, repeat)
// fails with "out of memory" instead of taking the machine's memory. The
// process watches itself: a limit set between fork and exec by gitward's
// multi-threaded parent would not be safe, and an address-space limit does not
// fit the Go runtime's large virtual reservations.
func watchMemory(limit uint64) {
	if limit == 0 {
		return
	}
	debug.SetMemoryLimit(int64(limit))
	sample := []metrics.Sample{{Name: "/memory/classes/total:bytes"}}
	go func() {
		for {
			metrics.Read(sample)
			if sample[0].Value.Kind() == metrics.KindUint64 && sample[0].Value.Uint64() > limit {
				fmt.Fprintf(os.Stderr, "fatal error: out of memory: the template needed more than %d bytes\n", limit)
				os.Exit(3)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
}

func main() {
	maxMemory := flag.Uint64("max-memory", 0, "memory limit in bytes (0: none)")
	flag.Parse()
	watchMemory(*maxMemory)
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
