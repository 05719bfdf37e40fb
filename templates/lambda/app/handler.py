"""The Lambda entry point (template.yaml: Handler: app.handler.handler).

Runs once per execution environment, during the init phase: settings are read and validated,
the app and the Mangum adapter are built here, never inside an invocation.
"""

import asyncio

from mangum import Mangum

from app.main import create_app

# One event loop for the execution environment, set before Mangum looks for one (asking asyncio
# for a loop that does not exist is deprecated): clients created on it survive between
# invocations.
loop = asyncio.new_event_loop()
asyncio.set_event_loop(loop)

app = create_app()

# lifespan="off": Lambda has no process start/stop to hook; Mangum would otherwise run the
# startup and shutdown events around every single invocation.
handler = Mangum(app, lifespan="off")
