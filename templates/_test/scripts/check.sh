#!/bin/sh
set -eu
pytest
