# The two commands a newcomer needs: `make run` and `make test`.
GO       ?= go
BIN      := bin/outbreak
RESIDENTS ?= 20000
DB       ?= sqlite:./data/outbreak.db

.PHONY: run build test bench fuzz clean

build:
	$(GO) build -o $(BIN) ./cmd/outbreak

# Build, create the embedded store with the demo region when it is empty,
# and serve on 127.0.0.1:8080.
run: build
	./$(BIN) demo --db $(DB) --residents $(RESIDENTS) --if-empty
	./$(BIN) serve --db $(DB)

# Every test: unit, store contract tests on SQLite and (when reachable)
# PostgreSQL, HTTP tests, fuzz seeds, and the browser tests in Chromium.
test:
	./scripts/test.sh

# Longer fuzzing of every parser of outside data.
fuzz:
	FUZZTIME=60s ./scripts/fuzz.sh

bench: build
	./$(BIN) bench demo --residents 1000000 --json
	./$(BIN) bench signin --json

clean:
	rm -rf bin
