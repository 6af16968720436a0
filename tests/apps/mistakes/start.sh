#!/bin/sh
# how it was run on a laptop
exec uvicorn main:app --reload --port 8000
