package app

import (
	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/modules/core"
	"github.com/opsbot/opsbot/modules/jobsmod"
	"github.com/opsbot/opsbot/modules/scripts"
)

// BuiltinModules is the one list of built-in modules: adding a capability is
// adding its package and one line here. Modules that register argument types
// (app, env, instance…) come before scripts, whose config grammars use them.
func BuiltinModules() []bot.Module {
	return append(CoreModules(),
		jobsmod.New(),
		scripts.New(),
	)
}

// CoreModules are the modules every bot has, whatever else it runs.
func CoreModules() []bot.Module {
	return []bot.Module{core.New()}
}
