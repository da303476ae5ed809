"""`medllm serve`: the ask pipeline behind an HTTP API (OpenAI-compatible chat, medllm's native
records) and a clinician web page, served by one FastAPI app on uvicorn.

    app = create_app(session, KeyStore(path), ServeConfig(queue_size=8))

Nothing imports `serve` (it is the top layer, beside `cli`).
"""

from medllm.serve.app import ServeConfig, create_app
from medllm.serve.keys import KeyStore

__all__ = ["KeyStore", "ServeConfig", "create_app"]
