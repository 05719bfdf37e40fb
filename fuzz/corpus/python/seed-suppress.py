from fastapi import FastAPI

app = FastAPI()


@app.get("/a")
async def a():
    print("same line")  # svc: ignore[print-call] kept for the demo
    # svc: ignore[LG001] line before
    print("line before")
    print(  # svc: ignore[print-call] any line of a multi-line statement
        "multi",
        "line",
    )
    print("not suppressed")
    x = 1  # svc: ignore[print-call] nothing to suppress here
    y = 2  # svc: ignore[no-such-rule]
    return x + y
