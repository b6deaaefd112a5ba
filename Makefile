# docker charmcraft: build, test and install the Docker CLI plugin.

GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
BIN       := bin/docker-charmcraft
GOLANGCI  ?= golangci-lint
GOLANGCI_VERSION := v2.15.0

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build bin/docker-charmcraft
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/docker-charmcraft

.PHONY: install
install: ## Build and install into $DOCKER_CONFIG/cli-plugins (or ~/.docker/cli-plugins)
	./install.sh

.PHONY: test
test: build ## Run all tests (needs a Docker daemon for the image tests; see README)
	$(GO) test -race -count=1 ./...

.PHONY: test-short
test-short: ## Run the tests that need no Docker daemon
	$(GO) test -race -count=1 -short ./...

.PHONY: lint
lint: ## gofmt, go vet and golangci-lint
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt: files above need formatting'; exit 1; }
	$(GO) vet ./...
	@command -v $(GOLANGCI) >/dev/null || { echo "golangci-lint missing: go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)"; exit 1; }
	$(GOLANGCI) run ./...

.PHONY: clean
clean: ## Remove build output
	rm -rf bin dist
