# The two commands a newcomer needs: `make run` and `make test`.
GO       ?= go
BIN      := bin/outbreak
RESIDENTS ?= 20000
DB       ?= sqlite:./data/outbreak.db
ADDR     ?= 127.0.0.1:8080
CHECKPOINT := web/checkpoint
CHECKIN  := web/checkin
MAP      := web/map

.PHONY: run build test bench fuzz clean assets

build: assets
	$(GO) build -o $(BIN) ./cmd/outbreak

# The checkpoint page's script: the npm packages pinned in
# web/checkpoint/package-lock.json (installed again only when it changes),
# then web/checkpoint/src bundled into internal/http/checkpoint/static/checkpoint.js,
# which is committed so that `go build` works from a clean clone.
assets: $(CHECKPOINT)/node_modules/.installed $(CHECKIN)/node_modules/.installed $(MAP)/node_modules/.installed
	cd $(CHECKPOINT) && npm run --silent build
	cd $(CHECKIN) && npm run --silent build
	cd $(MAP) && npm run --silent build

$(CHECKPOINT)/node_modules/.installed: $(CHECKPOINT)/package.json $(CHECKPOINT)/package-lock.json
	cd $(CHECKPOINT) && npm ci --no-audit --no-fund
	touch $@

# The check-in page's script (issue 4): web/checkin/src, with the
# checkpoint's camera scanner, bundled into internal/http/render/static/checkin.js.
$(CHECKIN)/node_modules/.installed: $(CHECKIN)/package.json $(CHECKIN)/package-lock.json
	cd $(CHECKIN) && npm ci --no-audit --no-fund
	touch $@

# The public map's script and stylesheet (issue 4): web/map/src with
# Leaflet, bundled into internal/http/render/static/map.js and map.css.
$(MAP)/node_modules/.installed: $(MAP)/package.json $(MAP)/package-lock.json
	cd $(MAP) && npm ci --no-audit --no-fund
	touch $@

# Build, create the embedded store with the demo region when it is empty,
# and serve on $(ADDR) (make run ADDR=:9090). The server prints the demo
# logins when it starts, so the demo does not print them as well. Logs are
# text lines, on a terminal or not, unless OUTBREAK_LOG_FORMAT says otherwise.
run: export OUTBREAK_LOG_FORMAT ?= text
run: build
	./$(BIN) demo --db $(DB) --residents $(RESIDENTS) --if-empty --logins=false
	./$(BIN) serve --db $(DB) --addr $(ADDR)

# Every test: unit, store contract tests on SQLite and (when reachable)
# PostgreSQL, HTTP tests, fuzz seeds, and the browser tests in Chromium.
test: assets
	./scripts/test.sh

# Longer fuzzing of every parser of outside data.
fuzz:
	FUZZTIME=60s ./scripts/fuzz.sh

# The performance targets, each printing JSON (see BENCHMARKS.md).
bench: build
	./$(BIN) bench demo --residents 1000000 --json
	./$(BIN) bench signin --json
	./$(BIN) bench verify --json
	./$(BIN) bench recompute --residents 1000000 --json
	./$(BIN) bench pass --json

clean:
	rm -rf bin $(CHECKPOINT)/node_modules $(CHECKIN)/node_modules $(MAP)/node_modules
