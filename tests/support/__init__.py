"""Test support: process supervisors for the local emulators."""
