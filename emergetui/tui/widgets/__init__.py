"""Widgets of the lab: each draws one thing from plain data handed to it by a screen."""
