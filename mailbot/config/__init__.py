"""Configuration: one TOML file read once into typed, frozen settings."""
