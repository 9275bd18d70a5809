# opsbot — the two commands a new user needs: `make run` and `make test`.
GO        ?= go
BIN       := bin/opsbot
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.Version=$(VERSION)
GOFLAGS_T ?= -race -count=1 -timeout 15m

.PHONY: run build test test-deps bench lint fmt clean

## run: build and start opsbot on the embedded defaults (SQLite under ./opsbot-data, no config needed)
run: build
	./$(BIN) serve

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/opsbot

## test: install what the tests need when missing, then run every test (unit, integration, browser)
test: test-deps
	$(GO) vet ./...
	$(GO) test $(GOFLAGS_T) ./...

test-deps:
	./scripts/test-deps.sh

## bench: run the Go benchmarks (figures go to docs/benchmarks.md)
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## lint: formatting and vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "not gofmt-ed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin
