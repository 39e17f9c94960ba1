/* The mode table: one row per mode, in the order the loop asks them for a
 * prompt, a bottom line and a layer mark. Adding a mode: its file, its
 * AX_M_ index in ui/state.h, and its row here. */
#include "modes.h"

const ax_mode *const ax_modes[AX_M_COUNT] = {
    [AX_M_PROMPT] = &ax_mode_prompt,
    [AX_M_DIFF] = &ax_mode_diff,
    [AX_M_GRAD] = &ax_mode_grad,
    [AX_M_WHATIF] = &ax_mode_whatif,
    [AX_M_TOUR] = &ax_mode_tour,
    [AX_M_MAXACT] = &ax_mode_maxact,
};
