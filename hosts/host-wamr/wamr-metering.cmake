# Read as CMAKE_TOOLCHAIN_FILE by every CMake build the `cmake` crate runs in this workspace (see
# .cargo/config.toml); today that is only wamrx-sys's build of WAMR. It sets nothing but this
# WAMR build option, so the compiler and flags stay the `cmake` crate's defaults.
#
# Instruction metering: the fast interpreter counts every dispatched opcode against the limit
# `wasm_runtime_set_instruction_count_limit` sets on an execution environment, and raises the
# exception "instruction limit exceeded" when it reaches zero. host-wamr's fuel limit is built on it.
set(WAMR_BUILD_INSTRUCTION_METERING 1 CACHE STRING "WAMR instruction metering (host-wamr fuel)" FORCE)
