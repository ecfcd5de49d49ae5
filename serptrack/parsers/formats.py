"""Imports every parser module so that each registers its format.

Add one import line per new parser module (API payloads, saved result pages).
"""
