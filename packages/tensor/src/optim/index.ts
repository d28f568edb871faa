// Optimizers and learning-rate schedules.
export {};
