"""Audit and history stores. The engine and the API never see which one is in use."""
