#!/usr/bin/env bash
# `make run`: migrate, seed, schedule, then web + worker + beat (+ the Midtrans simulator when no
# real Midtrans keys are set) under honcho. Everything lives in var/; nothing needs a service.
set -euo pipefail
cd "$(dirname "$0")/.."
export DJANGO_SETTINGS_MODULE=buatfilm.settings.local
PORT=${PORT:-8000}
SIM_PORT=${MIDTRANS_SIMULATOR_PORT:-8765}
export SITE_URL=${SITE_URL:-http://127.0.0.1:$PORT}
mkdir -p var/celery/queue var/celery/processed var/celery/control var/mail var/whatsapp

procfile=Procfile.dev
if [ -z "${MIDTRANS_SERVER_KEY:-}" ] && ! grep -qs '^MIDTRANS_SERVER_KEY=.' .env; then
  export MIDTRANS_SERVER_KEY=SB-Mid-server-LOCAL-SIMULATOR
  export MIDTRANS_CLIENT_KEY=SB-Mid-client-LOCAL-SIMULATOR
  export MIDTRANS_SNAP_BASE_URL=http://127.0.0.1:$SIM_PORT/snap/v1
  export MIDTRANS_API_BASE_URL=http://127.0.0.1:$SIM_PORT
  export MIDTRANS_SIMULATOR_ENABLED=true
  export MIDTRANS_SIMULATOR_PORT=$SIM_PORT
  procfile=Procfile.dev.simulator
  cat <<MSG
##########################################################################################
#  NO MIDTRANS KEYS SET: payments are SIMULATED by the local Midtrans simulator          #
#  (http://127.0.0.1:$SIM_PORT). No real money moves. Set MIDTRANS_SERVER_KEY/CLIENT_KEY    #
#  in .env to use the Midtrans sandbox instead.                                           #
##########################################################################################
MSG
fi

.venv/bin/python manage.py migrate --noinput
.venv/bin/python manage.py seed_catalog
if .venv/bin/python manage.py help setup_schedules >/dev/null 2>&1; then
  .venv/bin/python manage.py setup_schedules
fi

cat <<MSG

  Site:          $SITE_URL/
  Health:        $SITE_URL/healthz/
  Admin:         $SITE_URL/${ADMIN_URL:-admin/}   (create a user: .venv/bin/python manage.py createsuperuser)
  Outgoing mail: var/mail/*.eml    WhatsApp: var/whatsapp/
  Stop with Ctrl-C.

MSG
export WEB_PORT=$PORT
exec .venv/bin/honcho -f "$procfile" start
