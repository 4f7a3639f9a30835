"""The project's custom checkov checks. checkov loads every module of this folder itself
(`checkov --external-checks-dir policies`); it needs this file to do so."""
