package app

import (
	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/modules/core"
)

// BuiltinModules is the one list of built-in modules: adding a capability is
// adding its package and one line here.
func BuiltinModules() []bot.Module {
	return []bot.Module{
		core.New(),
	}
}
