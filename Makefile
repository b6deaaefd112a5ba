# docker charmcraft: build, test and install the Docker CLI plugin.

GO        ?= go
# A tag's name (v1.2.0, v1.2.0-3-gabc1234), else v0.0.0-dev+COMMIT: never a bare commit.
VERSION   ?= $(shell git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null || echo v0.0.0-dev+$$(git rev-parse --short HEAD 2>/dev/null || echo unknown))
LDFLAGS   := -s -w -X main.version=$(VERSION)
BIN       := bin/docker-charmcraft
GOLANGCI  ?= golangci-lint
GOLANGCI_VERSION := v2.15.0
# What `make release` builds, and what `make cross` checks besides Linux.
PLATFORMS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64
CROSS     := darwin/amd64 darwin/arm64 windows/amd64
# macOS has shasum but not always sha256sum; both write the same format.
SHA256SUM ?= $(shell command -v sha256sum >/dev/null 2>&1 && echo sha256sum || echo 'shasum -a 256')

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build bin/docker-charmcraft
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/docker-charmcraft

.PHONY: release
release: ## Build what a release publishes into dist/, as .goreleaser.yaml names it (binaries, SHA256SUMS, CHANGELOG.md)
	@mkdir -p dist && rm -f dist/docker-charmcraft-* dist/SHA256SUMS dist/CHANGELOG.md
	@set -e; for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; ext=; if [ "$$os" = windows ]; then ext=.exe; fi; \
		out=dist/docker-charmcraft-$$os-$$arch$$ext; \
		echo "CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $$out"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $$out ./cmd/docker-charmcraft; \
	done
	cd dist && $(SHA256SUM) docker-charmcraft-* >SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS
	@prev=$$(git describe --tags --abbrev=0 HEAD^ 2>/dev/null || true); \
	{ echo '## Changelog'; echo; git log --no-merges --reverse --pretty='* %h %s' $${prev:+$$prev..}HEAD; } >dist/CHANGELOG.md
	cp install.sh install.ps1 dist/
	@cat dist/SHA256SUMS

.PHONY: snapshot
snapshot: ## A release build without publishing: goreleaser's snapshot when goreleaser is installed, else make release
	@if command -v goreleaser >/dev/null 2>&1; then goreleaser release --snapshot --clean; \
	else echo 'goreleaser is not installed: make release builds the same files'; $(MAKE) release; fi

.PHONY: cross
cross: ## go build and go vet (tests too) every package for macOS and Windows
	@set -e; for p in $(CROSS); do \
		echo "== GOOS=$${p%/*} GOARCH=$${p#*/}"; \
		CGO_ENABLED=0 GOOS=$${p%/*} GOARCH=$${p#*/} $(GO) build ./...; \
		CGO_ENABLED=0 GOOS=$${p%/*} GOARCH=$${p#*/} $(GO) vet ./...; \
	done

.PHONY: install
install: ## Build and install into $DOCKER_CONFIG/cli-plugins (or ~/.docker/cli-plugins)
	./install.sh

.PHONY: demo
demo: ## Try the plugin end to end against a local stand-in Charmhub (no account needed)
	scripts/demo.sh

.PHONY: test
test: build ## Run all tests, on every daemon and registry of the matrix if scripts/matrix.sh started it (see README)
	GO=$(GO) scripts/test.sh

.PHONY: matrix
matrix: ## Install and start the daemons of the test matrix (as root; see README)
	scripts/matrix.sh

.PHONY: fuzz
fuzz: ## Run each fuzz target for FUZZTIME (default 10s) and print its executions
	scripts/fuzz.sh

.PHONY: test-short
test-short: ## Run the tests that need no Docker daemon
	$(GO) test -race -count=1 -short ./...

.PHONY: test-wine
test-wine: ## Run the Windows build under Wine 10 in a Debian 13 chroot (root; after make matrix)
	scripts/windows-e2e.sh

.PHONY: bench
bench: build ## Measure uploads against docker push, skopeo, crane, curl (BENCH_SIZE=300M BENCH_RUNS=3 BENCH_FILE_SIZE=1G)
	$(GO) run ./bench

.PHONY: lint
lint: ## gofmt, go vet and golangci-lint
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt: files above need formatting'; exit 1; }
	$(GO) vet ./...
	@command -v $(GOLANGCI) >/dev/null || { echo "golangci-lint missing: go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)"; exit 1; }
	$(GOLANGCI) run ./...

.PHONY: clean
clean: ## Remove build output
	rm -rf bin dist
