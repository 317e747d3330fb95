"""The advisor: prompt, retrieval, fine-tuning or a hybrid, from a task's profile and then
from the team's own measurements."""
