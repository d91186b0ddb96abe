# `make run` and `make test` each set up everything they need themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-scale lint schema clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/exam-review migrate
	$(BIN)/exam-review demo
	$(BIN)/exam-review serve --host 127.0.0.1 --port 8000

# The embedded default: nothing to install. tests/scale needs the engines: see test-scale.
test: $(STAMP)
	$(BIN)/python -m pytest --ignore=tests/scale $(PYTEST_ARGS)

# The whole suite again on PostgreSQL + Redis + SeaweedFS (S3), plus the multi-process and
# fault tests. Needs PostgreSQL on 127.0.0.1:5432 (user postgres) and Redis on 127.0.0.1:6379.
test-scale: $(STAMP)
	EXAM_REVIEW_STACK=scale $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy server schema resolvers core models storage pubsub tests bench
	$(BIN)/lint-imports

schema: $(STAMP)
	$(BIN)/exam-review export-schema

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

# Benchmarks, never part of `make test`: prints a markdown report, raw figures in bench/results/.
# Uses PostgreSQL (127.0.0.1:5432, user postgres) and Redis (127.0.0.1:6379) when reachable and
# says "skipped" for what needs them otherwise. BENCH_ARGS=--quick for tiny sizes.
.PHONY: bench
bench: $(STAMP)
	command -v wrk >/dev/null || (apt-get install -y wrk || (apt-get update && apt-get install -y wrk))
	$(BIN)/python -m bench.run $(BENCH_ARGS)
