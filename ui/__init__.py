"""Shared Streamlit pieces: translation, formatting, filter widgets, charts, cached data calls."""
