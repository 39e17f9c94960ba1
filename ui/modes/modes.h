/* The modes of the workbench, one file each: the g and / prompts
 * (prompt.c), diff mode (diffmode.c), gradients (gradmode.c) and the
 * what-if switches (whatif.c), the guided tour (tour.c). The frame walks ax_modes; nothing else
 * names a row. */
#ifndef AX_UI_MODES_H
#define AX_UI_MODES_H

#include "core.h"

extern const ax_mode ax_mode_prompt, ax_mode_diff, ax_mode_grad, ax_mode_whatif, ax_mode_tour;
extern const ax_mode ax_mode_maxact;   /* maxact.c: the Top images view's pass (M) */
extern const ax_mode *const ax_modes[AX_M_COUNT];

#endif
