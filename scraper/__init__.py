"""Stages 1-2: fetch GOV.UK pages over HTTP and parse them into typed, frozen values."""
