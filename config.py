"""Configuration. Every setting can come from the environment; tests subclass :class:`Config`."""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"


def normalise_url(url: str) -> str:
    """psycopg2 is the driver we ship: make plain postgres:// URLs use it."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix):]
    return url


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return normalise_url(url) or f"sqlite:///{INSTANCE_DIR / 'cepp.sqlite3'}"


class Config:
    #: Signs sessions, captchas and remember-me cookies. Unset: a random key made once and kept in
    #: instance/secret_key (so every process on this machine shares it); set it when web processes
    #: run on several machines.
    SECRET_KEY = os.environ.get("SECRET_KEY") or None
    SQLALCHEMY_DATABASE_URI = _database_url()
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    #: Unset: background jobs run inline in the web process.
    REDIS_URL = os.environ.get("REDIS_URL") or None
    #: Login lockout (design §4): this many failures lock the account for LOCKOUT_MINUTES.
    LOCKOUT_FAILURES = int(os.environ.get("LOCKOUT_FAILURES", "5"))
    LOCKOUT_MINUTES = int(os.environ.get("LOCKOUT_MINUTES", "60"))
    API_TOKEN_HOURS = int(os.environ.get("API_TOKEN_HOURS", "24"))
    MAX_CONTENT_LENGTH = 25 * 1024 * 1024
    UPLOAD_MAX_BYTES = 4 * 1024 * 1024
    BABEL_DEFAULT_LOCALE = "zh_CN"
    LANGUAGES = ("zh_CN", "en")
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    #: Behind HTTPS (production) set COOKIE_SECURE=1: the session and remember-me cookies then never
    #: travel over plain HTTP. Off by default so the embedded setup works at http://127.0.0.1:5000.
    SESSION_COOKIE_SECURE = os.environ.get("COOKIE_SECURE", "").lower() in ("1", "true", "yes")
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    REMEMBER_COOKIE_HTTPONLY = True
    INBOX_PAGE_SIZE = 20
    #: How long the to-do count beside 待办任务 in the navigation may be old (seconds, per web process; a user's
    #: own decisions refresh it at once); 0 turns the count off.
    INBOX_BADGE_SECONDS = int(os.environ.get("INBOX_BADGE_SECONDS", "30"))
    #: Workflows a process keeps in memory after their last committed step, so the next step skips
    #: deserializing them (≈ 50–100 KB each); 0 turns it off.
    WORKFLOW_CACHE_SIZE = int(os.environ.get("WORKFLOW_CACHE_SIZE", "256"))
    #: Signed-in users each web process keeps (app.accounts.usercache); 0 turns the cache off.
    USER_CACHE_SIZE = int(os.environ.get("USER_CACHE_SIZE", "4096"))
    #: What one run of the workflow engine (a start, or a completed task and the steps after it) may spend
    #: before it fails as a broken process definition: tasks run without waiting for a person, and CPU seconds.
    WORKFLOW_MAX_STEPS = int(os.environ.get("WORKFLOW_MAX_STEPS", "200"))
    WORKFLOW_MAX_CPU_SECONDS = float(os.environ.get("WORKFLOW_MAX_CPU_SECONDS", "2"))
    #: Address printed in certificate QR codes when the platform runs behind a proxy (else the request's host).
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL") or None
    #: This machine's scratch folder, where background jobs write a file before it is stored in the database
    #: (app.taskcentre.files); default instance/jobs. Nothing in it is needed by another process.
    JOBS_DIR = os.environ.get("JOBS_DIR") or None
    #: A background job whose worker died is handed out again until it ran this many times (then it fails).
    JOB_MAX_ATTEMPTS = int(os.environ.get("JOB_MAX_ATTEMPTS", "3"))
    #: A job handed out this long ago that rq does not know was lost on its way (the enqueue never happened).
    JOB_QUEUE_GRACE_SECONDS = int(os.environ.get("JOB_QUEUE_GRACE_SECONDS", "60"))
    #: A running job with no sign of life (progress commits) for this long is given up for dead.
    JOB_STALE_SECONDS = int(os.environ.get("JOB_STALE_SECONDS", "900"))
    #: A starting worker deletes this machine's scratch files last written longer ago than this (left by a worker
    #: that died here); `flask cleanup` uses its --job-days instead.
    JOB_SCRATCH_HOURS = float(os.environ.get("JOB_SCRATCH_HOURS", "24"))
    #: Verification codes (registration, password reset): who delivers them (see
    #: app/registration/senders.py), how long they live, how often one may be requested.
    VERIFICATION_SENDER = os.environ.get("VERIFICATION_SENDER", "log")
    SHOW_VERIFICATION_CODE = os.environ.get("SHOW_VERIFICATION_CODE", "").lower() in ("1", "true", "yes")
    VERIFICATION_CODE_MINUTES = int(os.environ.get("VERIFICATION_CODE_MINUTES", "10"))
    VERIFICATION_RESEND_SECONDS = int(os.environ.get("VERIFICATION_RESEND_SECONDS", "60"))
    #: Rate limits, each "count/seconds" (app/core/ratelimit.py). They are counted in the database, so they hold
    #: across web processes; the client address is the request's remote address (set PROXY_FIX behind a proxy).
    #: Failed sign-ins from one address, whatever the accounts:
    RATE_LIMIT_SIGNIN_ADDRESS = os.environ.get("RATE_LIMIT_SIGNIN_ADDRESS", "20/300")
    #: Failed sign-ins of one account from one address: below LOCKOUT_FAILURES, so that no single address can
    #: lock somebody else's account (README, Security).
    RATE_LIMIT_SIGNIN_ACCOUNT = os.environ.get(
        "RATE_LIMIT_SIGNIN_ACCOUNT", f"{max(1, LOCKOUT_FAILURES - 1)}/{LOCKOUT_MINUTES * 60}")
    #: Verification codes (SMS / e-mail) asked for one mobile number or e-mail address, and from one address.
    RATE_LIMIT_CODE_TARGET = os.environ.get("RATE_LIMIT_CODE_TARGET", "5/3600")
    RATE_LIMIT_CODE_ADDRESS = os.environ.get("RATE_LIMIT_CODE_ADDRESS", "20/3600")
    #: Public certificate verifications (page and API) from one address.
    RATE_LIMIT_VERIFY_ADDRESS = os.environ.get("RATE_LIMIT_VERIFY_ADDRESS", "60/60")
    #: Behind a reverse proxy: the number of proxies that set X-Forwarded-For / -Proto (werkzeug's ProxyFix),
    #: so the client address is the real one and not the proxy's. 0 (default): no proxy is trusted.
    PROXY_FIX = int(os.environ.get("PROXY_FIX", "0"))
    #: "json" (scripts/serve.sh sets it): one JSON object a line on stderr, with the request id (also inside
    #: background jobs the request enqueued) and an access-log line per request. Otherwise Flask's default.
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    ACCESS_LOG = os.environ.get("ACCESS_LOG", "1").lower() in ("1", "true", "yes")
    #: Set: /metrics answers only requests with "Authorization: Bearer <this>" (else restrict it at the proxy).
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN") or None
    #: Image captcha on the login and password-reset pages.
    CAPTCHA_ENABLED = os.environ.get("CAPTCHA_ENABLED", "true").lower() not in ("0", "false", "no")
    #: How long a captcha answer stays valid, in seconds.
    CAPTCHA_SECONDS = int(os.environ.get("CAPTCHA_SECONDS", "600"))
    #: Legacy data (历史数据): the last year the old provincial system kept records for; a legacy file with later
    #: years is refused row by row.
    LEGACY_LAST_YEAR = int(os.environ.get("LEGACY_LAST_YEAR", "2017"))


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "tests-only"
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    REDIS_URL = None
    WTF_CSRF_ENABLED = True
    #: Cheap hashing keeps the per-test demo seed fast; production uses the strong default.
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    #: Tests read codes from app.registration.senders.OUTBOX; the captcha stays checked.
    VERIFICATION_SENDER = "memory"
    VERIFICATION_RESEND_SECONDS = 0
    #: Every test signs in from 127.0.0.1: the limits that tests prove are lowered by those tests.
    RATE_LIMIT_SIGNIN_ADDRESS = RATE_LIMIT_SIGNIN_ACCOUNT = "1000/300"
    RATE_LIMIT_CODE_TARGET = RATE_LIMIT_CODE_ADDRESS = RATE_LIMIT_VERIFY_ADDRESS = "1000/3600"
