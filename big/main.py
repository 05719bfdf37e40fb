from fastapi import FastAPI
app = FastAPI()
print(1)
