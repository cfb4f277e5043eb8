# gitward's image: the controller and the API server, with the kustomize, helm and git
# it renders with, at pinned versions (tools/ and the ARGs below). Built elsewhere (this
# project's CI machine has no container engine); see docs/install.md.
#
#   docker build -t ghcr.io/gitward/gitward:0.1.0 .

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG GO_IMAGE=golang:1.26-bookworm

# kustomize and helm from the Go module proxy, exactly as `make toolchain` builds them.
FROM ${GO_IMAGE} AS tools
ENV CGO_ENABLED=0 GOFLAGS=-mod=readonly GOTOOLCHAIN=local
COPY tools/kustomize/go.mod tools/kustomize/go.sum /src/tools/kustomize/
COPY tools/helm/go.mod tools/helm/go.sum /src/tools/helm/
WORKDIR /src/tools/kustomize
RUN go build -trimpath -ldflags "-s -w" -o /out/kustomize sigs.k8s.io/kustomize/kustomize/v5
WORKDIR /src/tools/helm
RUN go build -trimpath -ldflags "-s -w" -o /out/helm helm.sh/helm/v3/cmd/helm

# gitward and its locked dependencies into one virtual environment.
FROM ${PYTHON_IMAGE} AS build
ENV UV_PROJECT_ENVIRONMENT=/opt/gitward UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
RUN pip install --no-cache-dir "uv>=0.5,<1"
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
COPY gitward gitward
RUN uv sync --frozen --no-dev --no-editable

# The runtime: the same Python, git, the two tools, no compiler, no shell tools beyond
# the base image's, a non-root user, and nothing writable but the pod's emptyDirs.
# Debian packages at pinned versions (bookworm's, as `apt-cache policy` shows them with
# bookworm-updates and -security): a point release that retires one fails the build
# loudly instead of changing git under the renderer; raise the pins then.
FROM ${PYTHON_IMAGE}
ARG GIT_VERSION=1:2.39.5-0+deb12u3
ARG CA_CERTIFICATES_VERSION=20250419~deb12u2
ARG OPENSSH_CLIENT_VERSION=1:9.2p1-2+deb12u10
RUN apt-get update \
 && apt-get install -y --no-install-recommends "git=${GIT_VERSION}" \
      "ca-certificates=${CA_CERTIFICATES_VERSION}" "openssh-client=${OPENSSH_CLIENT_VERSION}" \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 999 gitward \
 && useradd --uid 999 --gid 999 --home-dir /tmp --no-create-home --shell /usr/sbin/nologin gitward
COPY --from=tools /out/kustomize /out/helm /usr/local/bin/
COPY --from=build /opt/gitward /opt/gitward
ENV PATH=/opt/gitward/bin:/usr/local/bin:/usr/bin:/bin \
    PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HOME=/tmp GITWARD_CACHE=/cache
USER 999:999
ENTRYPOINT ["/opt/gitward/bin/gitward"]
CMD ["controller"]
