package app

import (
	"github.com/opsbot/opsbot/bot"
	alertsmod "github.com/opsbot/opsbot/modules/alerts"
	"github.com/opsbot/opsbot/modules/core"
	deploymod "github.com/opsbot/opsbot/modules/deploy"
	eventsmod "github.com/opsbot/opsbot/modules/events"
	fleetmod "github.com/opsbot/opsbot/modules/fleet"
	hooksmod "github.com/opsbot/opsbot/modules/hooks"
	"github.com/opsbot/opsbot/modules/jobsmod"
	monitorsmod "github.com/opsbot/opsbot/modules/monitors"
	notifymod "github.com/opsbot/opsbot/modules/notify"
	schedulesmod "github.com/opsbot/opsbot/modules/schedules"
	"github.com/opsbot/opsbot/modules/scripts"
	statusmod "github.com/opsbot/opsbot/modules/status"
	"github.com/opsbot/opsbot/web"
)

// BuiltinModules is the one list of built-in modules: adding a capability is
// adding its package and one line here. Modules that register argument types
// (app, env, instance…) come before scripts, whose config grammars use them.
func BuiltinModules() []bot.Module {
	return append(CoreModules(),
		jobsmod.New(),
		eventsmod.New(),
		schedulesmod.New(),
		monitorsmod.New(),
		fleetmod.New(),
		deploymod.New(),
		scripts.New(),
		web.New(),
		notifymod.New(),
		hooksmod.New(),
		statusmod.New(),
		alertsmod.New(),
		alertsmod.NewOnCall(),
	)
}

// CoreModules are the modules every bot has, whatever else it runs.
func CoreModules() []bot.Module {
	return []bot.Module{core.New()}
}
