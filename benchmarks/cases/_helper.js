// Shared by the cases that run a command from the C spawn-helper.
'use strict';

/** A reason to skip if `tool` is not installed, else null. */
function needTool(ctx, tool, pkg) {
  return ctx.tools[tool] ? null : `${tool} is not installed (apt-get install ${pkg})`;
}

module.exports = { needTool };
