package org.renalmtl.engine;

/**
 * What a model's plan for one shape holds in memory, as {@link Model#plan} reports it: the figures the
 * multi- versus single-task comparison is about.
 *
 * @param weightBytes weights as the backend holds them (packed into its layouts)
 * @param activationBytes the planned activation arena, shared by the model's networks
 * @param activationLowerBound the most bytes live at one step: no placement can use less
 * @param scratchBytes the backend's workspace (oneDNN scratchpad, cuDNN workspace)
 */
public record PlanMemory(long weightBytes, long activationBytes, long activationLowerBound, long scratchBytes) {}
