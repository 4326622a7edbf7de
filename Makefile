# Two commands: `make run` (portal + worker + beat + local AWS API, demo data) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test test-fast lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -qq --upgrade pip setuptools wheel
	$(BIN)/python -m pip install -qq -e '.[test,dev,bench]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/python manage.py run_platform

# The suite in two passes, each closing with pytest's summary: first what may share the
# machine, on every core (pytest-xdist; each worker has its own test database, broker keys
# and run folder, and takes whole files so module fixtures stay whole), then the tests
# marked `serial` one at a time. Either pass failing fails the target; a pass with nothing
# selected does not. PYTEST_ARGS goes to both (a `-m` in it replaces the marker selection);
# the second argument, options of the target, too.
TEST_WORKERS ?= auto
define pytest_two_passes
	@p=0; s=0; \
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile -m "not serial $(1)" $(2) $(PYTEST_ARGS) || p=$$?; \
	$(BIN)/python -m pytest -n 0 -m "serial $(1)" $(2) $(PYTEST_ARGS) || s=$$?; \
	if [ $$p -eq 5 ] && [ $$s -ne 5 ]; then p=0; fi; \
	if [ $$s -eq 5 ] && [ $$p -ne 5 ]; then s=0; fi; \
	if [ $$p -ne 0 ]; then exit $$p; fi; exit $$s
endef

# This machine may set PYTHONDONTWRITEBYTECODE: pytest would then rewrite the asserts of
# every test module again in each run and each worker (about 10 s of CPU apiece).
test test-fast: export PYTHONDONTWRITEBYTECODE =

test: install
	$(call pytest_two_passes,)

# The inner loop: neither `slow` nor `browser` tests, and test databases made from the models
# instead of by running every migration (about 8 s of CPU per worker). The migrations hold no
# data of their own, and `make test` (with the migration test, which is `slow`) runs them.
test-fast: install
	$(call pytest_two_passes,and not slow and not browser,--no-migrations)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy config idp catalog provisioning pipelines monitoring policies fleet
	$(BIN)/lint-imports --no-cache
	$(BIN)/python manage.py check_policies
	$(BIN)/python manage.py makemigrations --check --dry-run

bench: install
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf var/runs var/broker var/static
