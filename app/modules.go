package app

import (
	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/modules/core"
)

// BuiltinModules is the one list of built-in modules: adding a capability is
// adding its package and one line here.
func BuiltinModules() []bot.Module {
	return append(CoreModules(),
		// feature modules, one line each
		[]bot.Module{}...,
	)
}

// CoreModules are the modules every bot has, whatever else it runs.
func CoreModules() []bot.Module {
	return []bot.Module{core.New()}
}
