#!/bin/sh
# The four control methods at once: a config file with ${VAR:-default}, an env var,
# a secret file and a CLI flag; then `envconf explain` shows where each value came from.
set -eu
mkdir -p secrets
printf 's3cret\n' > secrets/app_db__password
export PORT=9000                  # embedded in config/app.yaml as ${PORT:-8000}
export APP_DB__PORT=6432          # environment variable
export APP_PROFILE=production     # adds config/app.production.yaml
echo "== python app.py --debug --workers 8"
python app.py --debug --workers 8
echo
echo "== envconf explain --settings settings.py:AppSettings -- --debug --workers 8"
envconf explain --settings settings.py:AppSettings -- --debug --workers 8
echo
echo "== a bad value: APP_DB__PORT=abc"
APP_DB__PORT=abc envconf check --settings settings.py:AppSettings || echo "(exit status $?)"
rm -rf secrets
