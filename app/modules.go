package app

import (
	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/modules/core"
	eventsmod "github.com/opsbot/opsbot/modules/events"
	hooksmod "github.com/opsbot/opsbot/modules/hooks"
	"github.com/opsbot/opsbot/modules/jobsmod"
	notifymod "github.com/opsbot/opsbot/modules/notify"
	"github.com/opsbot/opsbot/modules/scripts"
	"github.com/opsbot/opsbot/web"
)

// BuiltinModules is the one list of built-in modules: adding a capability is
// adding its package and one line here. Modules that register argument types
// (app, env, instance…) come before scripts, whose config grammars use them.
func BuiltinModules() []bot.Module {
	return append(CoreModules(),
		jobsmod.New(),
		eventsmod.New(),
		scripts.New(),
		web.New(),
		notifymod.New(),
		hooksmod.New(),
	)
}

// CoreModules are the modules every bot has, whatever else it runs.
func CoreModules() []bot.Module {
	return []bot.Module{core.New()}
}
