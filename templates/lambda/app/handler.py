"""The Lambda entry point (template.yaml: Handler: app.handler.handler).

Runs once per execution environment, during the init phase: settings are read and validated,
the app and the Mangum adapter are built here, never inside an invocation. Each invocation
then goes through `app.invocation.wrap`: the Lambda request id and X-Ray trace id on every log
line, a named stage's path prefix removed, and spans flushed before Lambda freezes the
environment (only when OTLP export is on).
"""

import asyncio

from mangum import Mangum

from app import invocation
from app.main import create_app

# One event loop for the execution environment, set before Mangum looks for one (asking asyncio
# for a loop that does not exist is deprecated): clients created on it survive between
# invocations.
loop = asyncio.new_event_loop()
asyncio.set_event_loop(loop)

app = create_app()

# lifespan="off": Lambda has no process start/stop to hook; Mangum would otherwise run the
# startup and shutdown events around every single invocation.
handler = invocation.wrap(Mangum(app, lifespan="off"), tracer_provider=app.state.tracer_provider)
