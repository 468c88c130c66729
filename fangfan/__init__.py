"""Fangfan (防返): the procedures that keep households from falling back into poverty."""
