"""Say in one line what is missing before anything starts, instead of a traceback later.

Run as ``python -m eventplatform.preflight`` (``make run`` and ``make test`` do).
"""

import os
import sys

import redis

REDIS_START = (
    'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no'
)
POSTGRES_START = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"


def check_redis(url: str) -> str | None:
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping()
    except redis.RedisError as error:
        return f"Redis is not reachable at {url} ({error}). Start it with: {REDIS_START}"
    return None


def check_database(url: str) -> str | None:
    if not url.startswith(("postgres://", "postgresql://")):
        return None
    import psycopg

    try:
        psycopg.connect(url.replace("postgresql://", "postgres://", 1), connect_timeout=3).close()
    except psycopg.OperationalError as error:
        reason = str(error).strip().splitlines()[0]
        return f"PostgreSQL is not reachable at {url} ({reason}). Start it with: {POSTGRES_START}"
    return None


def main() -> int:
    problems = [
        problem
        for problem in (
            check_redis(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")),
            check_database(os.environ.get("DATABASE_URL", "")),
        )
        if problem
    ]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
