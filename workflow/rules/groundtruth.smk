# Ground truth: a downscaled multicompartment network (LFPy) against the kernel
# prediction for the same network (issue 6). Rules are added here.
