"""Fine-tuning: versioned training sets, LoRA jobs on this machine or a hosted API, and the
model versions they register (with their lineage)."""
