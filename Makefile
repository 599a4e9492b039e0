# smsbox: `make run` starts everything on http://127.0.0.1:8000 with demo data;
# `make test` runs the whole suite against PostgreSQL and Redis.
VENV ?= .venv
PY := $(VENV)/bin/python
HTTP_PORT ?= 8000
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/smsbox
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0
PYTEST_ARGS ?=
export VENV HTTP_PORT

.PHONY: install run test lint format bench clean messages

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet '.[dev]'
	touch $@

run: install
	mkdir -p var
	test -s var/demo_api_key || $(PY) -c "import secrets, string; \
		a = string.ascii_letters + string.digits; \
		print(''.join(secrets.choice(a) for _ in range(40)))" > var/demo_api_key
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --api-key "$$(cat var/demo_api_key)"
	@echo
	@echo "smsbox is starting on http://127.0.0.1:$(HTTP_PORT)"
	@echo "  dashboard  http://127.0.0.1:$(HTTP_PORT)/"
	@echo "  admin      http://127.0.0.1:$(HTTP_PORT)/admin/"
	@echo "  REST API   http://127.0.0.1:$(HTTP_PORT)/api/v1/   (docs: /api/docs/)"
	@echo "  handler    http://127.0.0.1:$(HTTP_PORT)/stubs/handler_api.php"
	@echo "  health     http://127.0.0.1:$(HTTP_PORT)/healthz"
	@echo "  demo API key: $$(cat var/demo_api_key)"
	@echo "Ctrl-C stops the web server, the Celery workers (money jobs; webhooks) and beat."
	@echo
	exec $(VENV)/bin/honcho start -f Procfile

test: install
	DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" \
	REDIS_URL="$${REDIS_URL:-$(TEST_REDIS_URL)}" \
	$(VENV)/bin/pytest --create-db $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf var

# The dashboard's translations: refresh locale/*/django.po from the code, then compile the .mo
# files (committed, so a fresh clone needs no gettext).
messages: install
	$(PY) manage.py makemessages -l ru --ignore=.venv --ignore=var --ignore=tests --ignore=bench
	$(PY) manage.py compilemessages --ignore=.venv
