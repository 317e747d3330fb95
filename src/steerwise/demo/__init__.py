"""The demo pack (a fictional bicycle co-operative) and the guided tour built on it."""

from steerwise.demo.finetune_step import TourBudget
from steerwise.demo.packdata import pack_path, read_questions
from steerwise.demo.tour import TOUR, run_tour

__all__ = ["TOUR", "TourBudget", "pack_path", "read_questions", "run_tour"]
