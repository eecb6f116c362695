"""ImageMonkey settings.

One file for every mode. The defaults run the embedded mode (SQLite, local media, in-process
cache and channel layer); environment variables switch each part to its scaled counterpart:
DATABASE_URL (PostgreSQL), REDIS_URL (cache + channel layer), S3_BUCKET (object storage).
"""

import os
import secrets
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Everything the embedded mode writes (database, media, generated secret) lives here.
DATA_DIR = Path(env.str("DATA_DIR", default=str(BASE_DIR / "var")))


def _embedded_secret_key() -> str:
    """A per-installation random key, so no secret is ever committed or shared between sites."""
    key_file = DATA_DIR / "secret_key"
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    try:
        # Created private and exclusively: two processes starting at once agree on one key.
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


SECRET_KEY = env.str("SECRET_KEY", default="") or _embedded_secret_key()
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_NAME = "ImageMonkey"

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_tasks",
    "django_ratelimit",
    "django_tasks_db",
    "core",
    "imagemonkey_site",
    "contributors",
    "trust",
    "donations",
    "labels_app",
    "validations",
    "annotations",
    "moderation",
    "datasets",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "imagemonkey_site.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.NulCharacterGuardMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "contributors.middleware.ContributorMiddleware",
    # Sessions load only when a request carries the cookie; flash messages only on pages, not
    # on the API's hot path.
    "core.middleware.PageMessagesMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "imagemonkey_site.urls"
WSGI_APPLICATION = None
ASGI_APPLICATION = "imagemonkey_site.asgi.application"
# Threads per server process that run requests (imagemonkey_site/asgi.py): enough to overlap
# one request's database and Redis waits with another's Python; each holds a pooled connection.
SERVER_THREADS = env.int("SERVER_THREADS", default=4)

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'imagemonkey.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # The embedded mode runs the web server and a task worker on one file: WAL lets readers
    # proceed during a write, IMMEDIATE transactions avoid lock upgrades that deadlock.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # Tests use a file too, as the site does: threads then share it with real locking (an
    # in-memory database refuses concurrent writers instead of waiting). One per test process.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / f"test-{os.getpid()}.sqlite3")}
else:
    # JIT compiling costs seconds on queries the planner prices just above its threshold (the
    # export count of a ten-term query at 100k images: 1.5 s of compiling for a 30 ms query);
    # the site's queries are index look-ups and scans it never pays back on.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
    # Under ASGI each request may run on a different thread, so Django's persistent connections
    # would pile up; a pool (psycopg 3) hands every request a warm connection instead of paying
    # a new PostgreSQL backend per request. DATABASE_POOL=false (e.g. behind pgbouncer) turns it
    # off; DATABASE_POOL_MAX bounds the connections one server process keeps.
    if env.bool("DATABASE_POOL", default=True):
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN", default=2),
            "max_size": env.int("DATABASE_POOL_MAX", default=20),
            "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
        }
    else:
        DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and channel layer ----------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="imagemonkey"),
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # A separate Redis database keeps a cache clear from dropping live groups.
                "hosts": [env.str("CHANNEL_LAYER_REDIS_URL", default=REDIS_URL)],
                "prefix": env.str("CHANNEL_LAYER_PREFIX", default="imagemonkey"),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Rate limits (django-ratelimit counters in the default cache) ---------------------------
# Allowed actions per period, indexed by trust level (newcomer, contributor, trusted,
# moderator; None = unlimited). The RATE_LIMITS variable (the same JSON shape) replaces single
# scopes. Each visitor (contributor, account or session) gets the number; their IP network
# (IPv4 /32, IPv6 /64) gets RATE_LIMIT_NETWORK_MULTIPLIER times it, so people sharing an
# address are not starved but one network cannot flood the site; a first-time visitor, who
# has no session yet, is counted by their network alone. Sign-up and log-in attempts are
# counted per network at exactly the number given; failed log-ins also per account name,
# wherever they come from, which stops a slow password guesser spread over many addresses.
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)
RATELIMIT_IPV4_MASK = 32
RATELIMIT_IPV6_MASK = 64
if env.bool("BEHIND_HTTPS_PROXY", default=False):
    RATELIMIT_IP_META_KEY = env.str("RATELIMIT_IP_META_KEY", default="HTTP_X_REAL_IP")
RATE_LIMIT_NETWORK_MULTIPLIER = env.int("RATE_LIMIT_NETWORK_MULTIPLIER", default=5)
RATE_LIMITS = {
    "vote": {"minute": [30, 60, 120, None], "day": [1000, 5000, 20000, None]},
    "label": {"minute": [20, 40, 80, None], "day": [500, 3000, 10000, None]},
    "annotation": {"minute": [10, 30, 60, None], "day": [500, 3000, 10000, None]},
    "donation": {"minute": [10, 20, 60, None], "day": [200, 1000, 5000, None]},
    "signup": {"minute": [3, 3, 3, 3], "day": [20, 20, 20, 20]},
    "login": {"minute": [10, 10, 10, 10], "day": [200, 200, 200, 200]},
    "login_failure": {"hour": [10, 10, 10, 10], "day": [30, 30, 30, 30]},
    # Taking, renewing, passing and skipping tasks: cheap, frequent, but each one a write.
    "task": {"minute": [60, 120, 240, None], "day": [3000, 10000, 30000, None]},
    # New anonymous identities (a visitor's first write, or a client that drops its cookies).
    "new_identity": {"minute": [20, 20, 20, 20], "day": [500, 500, 500, 500]},
    # Streamed exports: each request may read the whole dataset.
    "export": {"minute": [10, 20, 40, None], "day": [300, 1000, 3000, None]},
    # Archive jobs, counted by cost (EXPORT_COST_IMAGES images a unit).
    "export_archive": {"hour": [20, 50, 200, None], "day": [100, 300, 1000, None]},
    # Reports of inappropriate content: enough for an honest visitor's bad day, not a campaign.
    "report": {"minute": [5, 10, 20, None], "day": [30, 100, 300, None]},
} | (env.json("RATE_LIMITS", default=None) or {})
RATE_LIMITS_NETWORK_ONLY = {"signup", "login", "new_identity"}
if not REDIS_URL:
    # The embedded mode is one process, so its in-process cache holds every counter; the
    # scaled mode must use Redis (and then the E003 check stays on).
    SILENCED_SYSTEM_CHECKS = ["django_ratelimit.E003", "django_ratelimit.W001"]
else:
    # django-ratelimit knows django-redis, not Django's own RedisCache; what it needs holds for
    # both: `add` is SET NX and `incr` is Redis INCRBY, atomic across processes.
    SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001"]

# --- Background work (Django's Tasks API via the django-tasks backport) --------------------
TASKS = {
    "default": {
        "BACKEND": env.str("TASKS_BACKEND", default="django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# --- Files ----------------------------------------------------------------------------------
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(DATA_DIR / "media")))
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Finders let tests and a fresh checkout serve static files before collectstatic has run.
WHITENOISE_USE_FINDERS = True

S3_BUCKET = env.str("S3_BUCKET", default="")
if S3_BUCKET:
    _media_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": env.str("S3_ENDPOINT_URL", default="") or None,
            "access_key": env.str("S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("S3_SECRET_ACCESS_KEY", default="") or None,
            "region_name": env.str("S3_REGION", default="") or None,
            "location": env.str("S3_PREFIX", default=""),
            "default_acl": None,
            "file_overwrite": False,
            # Files are streamed through permission-checked views, never linked directly.
            "querystring_auth": True,
        },
    }
else:
    _media_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": _media_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Donations ------------------------------------------------------------------------------
DONATION_MAX_BYTES = env.int("DONATION_MAX_BYTES", default=30 * 1024 * 1024)
DONATION_MAX_PIXELS = env.int("DONATION_MAX_PIXELS", default=40_000_000)
DONATION_MAX_FILES_PER_FORM = env.int("DONATION_MAX_FILES_PER_FORM", default=50)
DONATION_JPEG_QUALITY = env.int("DONATION_JPEG_QUALITY", default=90)
DONATION_THUMBNAIL_SIZES = (256, 1024)
# Hamming distance between 64-bit perceptual hashes at or below which an image is flagged as a
# likely near-duplicate. Measured by bench/near_duplicates.py on real photos through the real
# ingest: resized (50-200 %), re-compressed (q60/q75) and ±10 % brightened copies lie within
# 4 bits, a 2 % crop within 8 for 90 % of photos, a 5 % crop for only 26-31 %. No two distinct
# photos came within 14 bits (0 of 2,645 pairs), and aligned face crops, the hardest negatives,
# first meet at 10 (0 of 4,950 pairs at 8). 8 catches every non-crop copy with a margin over
# the 5-6 bits seen on real uploads and most small crops, while staying 2 bits below the first
# false positive; 10-12 would catch more 5 % crops but start flagging distinct faces. phash sets
# exactly 32 of its 64 bits, so distances are even and 9 behaves like 8. The band lookup widens
# to the threshold by itself (ImageQuerySet.phash_candidates); it costs more rows at 12 and up.
NEAR_DUPLICATE_MAX_DISTANCE = env.int("NEAR_DUPLICATE_MAX_DISTANCE", default=8)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = DONATION_MAX_FILES_PER_FORM

# --- Validation: training phase, trust and consensus ----------------------------------------
# A newcomer passes training after TRAINING_MIN_GOLD gold answers whose accuracy's Wilson lower
# bound (at TRAINING_CONFIDENCE_Z standard deviations) is at least TRAINING_ACCURACY_BOUND; a
# voter whose upper bound falls below it later is demoted and all their votes stop counting.
TRAINING_MIN_GOLD = env.int("TRAINING_MIN_GOLD", default=5)
TRAINING_ACCURACY_BOUND = env.float("TRAINING_ACCURACY_BOUND", default=0.8)
TRAINING_CONFIDENCE_Z = env.float("TRAINING_CONFIDENCE_Z", default=1.0)
# A training item's answer is shown to this many trainees, then it retires from training.
TRAINING_GOLD_MAX_TRAINEES = env.int("TRAINING_GOLD_MAX_TRAINEES", default=25)
# The admin asks moderators for training items until this many are available.
TRAINING_GOLD_TARGET = env.int("TRAINING_GOLD_TARGET", default=50)
# Gold pools top themselves up (after each reliability estimate) from items decided by
# established evidence of GOLD_CANDIDATE_EVIDENCE (three voters near the cap) with at least
# GOLD_CANDIDATE_VOTES weighed answers of established voters for and none against: hidden
# checks to HIDDEN_GOLD_TARGET first, then training items to TRAINING_GOLD_TARGET.
GOLD_CANDIDATE_EVIDENCE = env.float("GOLD_CANDIDATE_EVIDENCE", default=6.0)
GOLD_CANDIDATE_VOTES = env.int("GOLD_CANDIDATE_VOTES", default=3)
HIDDEN_GOLD_TARGET = env.int("HIDDEN_GOLD_TARGET", default=200)
# Share of tasks that are gold: while training, then decaying after it to a floor.
GOLD_RATE_TRAINING = env.float("GOLD_RATE_TRAINING", default=0.4)
GOLD_RATE_AFTER_TRAINING = env.float("GOLD_RATE_AFTER_TRAINING", default=0.1)
GOLD_RATE_FLOOR = env.float("GOLD_RATE_FLOOR", default=0.02)
GOLD_RATE_DECAY_VOTES = env.int("GOLD_RATE_DECAY_VOTES", default=100)
# Someone answering much of one label meets more checks on it: the rate grows by one more
# share per this many answers on the label, up to this factor.
GOLD_RATE_LABEL_FOCUS_VOTES = env.int("GOLD_RATE_LABEL_FOCUS_VOTES", default=50)
GOLD_RATE_LABEL_FOCUS_MAX = env.float("GOLD_RATE_LABEL_FOCUS_MAX", default=4.0)
# Promotion to "trusted": enough gold answered with a high lower bound on accuracy.
TRUST_TRUSTED_MIN_GOLD = env.int("TRUST_TRUSTED_MIN_GOLD", default=30)
TRUST_TRUSTED_ACCURACY_BOUND = env.float("TRUST_TRUSTED_ACCURACY_BOUND", default=0.9)
# Evidence: each counted vote adds ± the voter's weight (log-odds of their estimated accuracy),
# at most the cap: below half the decisive 4.6, so no two voters decide an item however trusted
# (two sleepers at a cap of 3 did just that) and three agreeing do (trust's system check).
CONSENSUS_MAX_VOTE_WEIGHT = env.float("CONSENSUS_MAX_VOTE_WEIGHT", default=2.25)
# A moderator's answer decides on its own (log-odds above the decisive 4.6 for 0.99): a site with
# only moderators and newcomers gets decided labels on day one.
CONSENSUS_MODERATOR_WEIGHT = env.float("CONSENSUS_MODERATOR_WEIGHT", default=5.0)
# An image-label is decided once its probability reaches this (or 1 minus it for "no").
CONSENSUS_DECISIVE_PROBABILITY = env.float("CONSENSUS_DECISIVE_PROBABILITY", default=0.99)

# Written into every export (the data is CC0; saying so travels with each file).
EXPORT_NOTICE = env.str(
    "EXPORT_NOTICE",
    default="ImageMonkey dataset, dedicated to the public domain under CC0 1.0: "
    "https://creativecommons.org/publicdomain/zero/1.0/",
)
# Archive exports (image files in a ZIP, built in the background): unfinished jobs per person,
# how long a download link works, how long a finished archive is kept for reuse.
EXPORT_MAX_RUNNING = env.int("EXPORT_MAX_RUNNING", default=2)
EXPORT_LINK_SECONDS = env.int("EXPORT_LINK_SECONDS", default=3600)
EXPORT_KEEP_SECONDS = env.int("EXPORT_KEEP_SECONDS", default=7 * 24 * 3600)
# Statistics (/statistics/): the figures are recounted by a background task when a reader finds
# them older than STATISTICS_REFRESH_SECONDS, and cached for STATISTICS_CACHE_SECONDS; every
# day's figures (not only the last days') are recounted once per STATISTICS_FULL_RECOUNT_SECONDS.
STATISTICS_REFRESH_SECONDS = env.int("STATISTICS_REFRESH_SECONDS", default=300)
STATISTICS_CACHE_SECONDS = env.int("STATISTICS_CACHE_SECONDS", default=60)
STATISTICS_FULL_RECOUNT_SECONDS = env.int("STATISTICS_FULL_RECOUNT_SECONDS", default=24 * 3600)
# An archive counts one per this many images (at least one) against the `export_archive` limit.
EXPORT_COST_IMAGES = env.int("EXPORT_COST_IMAGES", default=1000)
# Public releases (manage.py dataset_dump, /datasets/releases/): contributors appear under
# pseudonyms keyed by this secret (empty: derived from SECRET_KEY), the same in every release.
# A release is made into media storage every DATASET_RELEASE_INTERVAL_HOURS (0: only by hand).
DATASET_PSEUDONYM_KEY = env.str("DATASET_PSEUDONYM_KEY", default="")
DATASET_RELEASE_INTERVAL_HOURS = env.int("DATASET_RELEASE_INTERVAL_HOURS", default=0)

# --- Moderation -----------------------------------------------------------------------------
# Reports hide an item once their weighted score reaches this (a newcomer's report weighs 0.5,
# a contributor's 1, a trusted contributor's 2, each times their past report accuracy; a
# moderator's report hides at once). Every earlier dismissal of reports on the item adds it
# again, so a group reporting a good image over and over needs ever more voices.
REPORT_HIDE_SCORE = env.float("REPORT_HIDE_SCORE", default=3.0)
# Removed images' files are kept this long in the protected folder, then deleted.
REMOVED_RETENTION_DAYS = env.int("REMOVED_RETENTION_DAYS", default=30)
# Nudity screening of new donations (moderation/screening.py; the optional extra in
# requirements-screening.txt). A score at or above SCREENING_FLAG_SCORE marks the donation for
# moderators; with SCREENING_AUTO_UNLOCK_TRUSTED, a trusted donor's photo scoring at most
# SCREENING_CLEAN_SCORE is unlocked without waiting (off by default).
SCREENING_ENABLED = env.bool("SCREENING_ENABLED", default=True)
SCREENING_FLAG_SCORE = env.float("SCREENING_FLAG_SCORE", default=0.5)
SCREENING_CLEAN_SCORE = env.float("SCREENING_CLEAN_SCORE", default=0.1)
SCREENING_AUTO_UNLOCK_TRUSTED = env.bool("SCREENING_AUTO_UNLOCK_TRUSTED", default=False)
# Alerts (moderation/alerts.py): what counts as trouble within ALERT_WINDOW seconds.
ALERT_WINDOW = env.int("ALERT_WINDOW", default=3600)
ALERT_FLIPS = env.int("ALERT_FLIPS", default=4)
ALERT_REPORTS = env.int("ALERT_REPORTS", default=5)
ALERT_NEW_IDENTITIES = env.int("ALERT_NEW_IDENTITIES", default=30)
# An answer burst: at least ALERT_BURST_MIN answers in a minute, ALERT_BURST_Z deviations above
# the contributor's usual minutes pooled with ALERT_BURST_PRIOR_MINUTES of the crowd's (whose
# mean is assumed ALERT_BURST_CROWD_MEAN until the site has measured it).
ALERT_BURST_MIN = env.int("ALERT_BURST_MIN", default=20)
ALERT_BURST_Z = env.float("ALERT_BURST_Z", default=4.0)
ALERT_BURST_PRIOR_MINUTES = env.int("ALERT_BURST_PRIOR_MINUTES", default=10)
ALERT_BURST_CROWD_MEAN = env.float("ALERT_BURST_CROWD_MEAN", default=6.0)

# Weight from agreement: a voter's weight is also capped by the log-odds of their agreement with
# decided outcomes, (agreed + AGREEMENT_PRIOR_AGREED) / (judged + AGREEMENT_PRIOR_JUDGED), so a
# new identity starts small (0.69) and grows only with a record of agreeing.
AGREEMENT_PRIOR_AGREED = env.float("AGREEMENT_PRIOR_AGREED", default=2.0)
AGREEMENT_PRIOR_JUDGED = env.float("AGREEMENT_PRIOR_JUDGED", default=3.0)
# A sudden change (a sleeper waking up): a CUSUM of the log-likelihood ratio "agrees no more than
# AGREEMENT_ALARM_SUSPECT" against "agrees as AGREEMENT_ALARM_EXPECTED", over judged answers and
# hidden gold; at AGREEMENT_ALARM_LIMIT the voter is demoted (5 disagreements in a row, about
# 18 answers at half wrong; an honest voter right 9 in 10 drifts down).
AGREEMENT_ALARM_EXPECTED = env.float("AGREEMENT_ALARM_EXPECTED", default=0.85)
AGREEMENT_ALARM_SUSPECT = env.float("AGREEMENT_ALARM_SUSPECT", default=0.5)
AGREEMENT_ALARM_LIMIT = env.float("AGREEMENT_ALARM_LIMIT", default=6.0)
# The one-coin Dawid-Skene estimate over all answers runs every RELIABILITY_ESTIMATE_EVERY
# judgements (a background task, over the newest RELIABILITY_WINDOW answers of each kind); a
# counting voter with RELIABILITY_MIN_ANSWERS answers estimated below RELIABILITY_DEMOTE_BELOW
# is demoted, and weights that moved by RELIABILITY_REWEIGH_DELTA are applied to past answers.
RELIABILITY_ESTIMATE_EVERY = env.int("RELIABILITY_ESTIMATE_EVERY", default=500)
RELIABILITY_WINDOW = env.int("RELIABILITY_WINDOW", default=200_000)
RELIABILITY_MIN_ANSWERS = env.int("RELIABILITY_MIN_ANSWERS", default=20)
RELIABILITY_DEMOTE_BELOW = env.float("RELIABILITY_DEMOTE_BELOW", default=0.7)
RELIABILITY_REWEIGH_DELTA = env.float("RELIABILITY_REWEIGH_DELTA", default=0.25)
# After a demotion, promotion needs this many fresh hidden-gold answers (at the training bound).
TRAINING_MIN_GOLD_AFTER_DEMOTION = env.int("TRAINING_MIN_GOLD_AFTER_DEMOTION", default=10)
# Independent sources: a decision needs at least CONSENSUS_ESTABLISHED_EVIDENCE of its evidence
# from identities older than CONSENSUS_ESTABLISHED_DAYS (or moderators), and only the first
# counted vote from a network weighs on an item: one network or one cohort of new identities
# cannot decide a label alone.
CONSENSUS_ESTABLISHED_DAYS = env.int("CONSENSUS_ESTABLISHED_DAYS", default=14)
CONSENSUS_ESTABLISHED_EVIDENCE = env.float("CONSENSUS_ESTABLISHED_EVIDENCE", default=1.0)

# Judgements are taken only on tasks handed to the judge within this many seconds.
TASK_SERVED_SECONDS = env.int("TASK_SERVED_SECONDS", default=3600)

# A share of a counting voter's tasks are decided items handed out again (those decided on at
# most RECHECK_MAX_COUNTED_VOTES counted votes): a wrong decision can be reopened, and a
# served decided item is nothing special (hidden checks are served regardless of state too).
RECHECK_RATE = env.float("RECHECK_RATE", default=0.05)
RECHECK_MAX_COUNTED_VOTES = env.int("RECHECK_MAX_COUNTED_VOTES", default=3)

# --- Annotation tasks --------------------------------------------------------------------
ANNOTATION_LEASE_SECONDS = env.int("ANNOTATION_LEASE_SECONDS", default=300)
# After this many "not annotatable" marks (too small, too many instances) a task retires.
ANNOTATION_RETIRE_AFTER = env.int("ANNOTATION_RETIRE_AFTER", default=3)
# Refinement quiz: a value is decided once REFINEMENT_MIN_AGREEING counted answers chose it and
# its weight leads the runner-up by REFINEMENT_DECIDE_LEAD; after REFINEMENT_GIVE_UP_AFTER
# "don't know" answers, or REFINEMENT_MAX_ANSWERS answers without a decision, it is not asked again.
REFINEMENT_MIN_AGREEING = env.int("REFINEMENT_MIN_AGREEING", default=2)
REFINEMENT_DECIDE_LEAD = env.float("REFINEMENT_DECIDE_LEAD", default=2.0)
REFINEMENT_GIVE_UP_AFTER = env.int("REFINEMENT_GIVE_UP_AFTER", default=3)
REFINEMENT_MAX_ANSWERS = env.int("REFINEMENT_MAX_ANSWERS", default=8)
# Largest JSON body accepted (an annotation with 100 polygons of 500 points fits easily).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2 * 1024 * 1024)

# --- Auth -----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "profile"
LOGOUT_REDIRECT_URL = "home"
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="ImageMonkey <noreply@localhost>")

# --- Security -------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "core.views.csrf_failure"
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_HTTPS_PROXY", default=False) else None
)
# HTTPS only: plain-HTTP requests are redirected, and browsers told to use HTTPS for this long
# (start small, e.g. 3600, until HTTPS is known to work everywhere; then a year).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# Scripts only from this origin (no inline scripts, no eval). Inline style attributes are
# allowed because the Django admin and Swagger UI use them; they cannot run code.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "contributors.authentication.ApiTokenAuthentication",
        "contributors.authentication.CsrfSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["core.api.renderers.FastJSONRenderer"],
    # JSON everywhere; the donation endpoint alone takes multipart uploads.
    "DEFAULT_PARSER_CLASSES": ["core.api.parsers.CheckedJSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.NewestFirstCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.ErrorDocumentingAutoSchema",
    "EXCEPTION_HANDLER": "core.api.errors.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ImageMonkey API",
    "DESCRIPTION": (
        "A public, open, CC0 image dataset built by its community. Reads are open; writes from "
        "scripts use an API token (`Authorization: Token <key>`) created on your profile page."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "VoteAnswerEnum": "labels_app.models.Answer",
        "ReviewAnswerEnum": "annotations.models.ReviewAnswer",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.schema.empty_query_values_allowed",
    ],
    # `<id:pk>` in paths (core.converters): a positive 64-bit integer.
    "PATH_CONVERTER_OVERRIDES": {
        "id": {"type": "integer", "format": "int64", "minimum": 1, "maximum": 2**63 - 1}
    },
}

# --- I18N -----------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
