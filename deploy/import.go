package deploy

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// hubotApp is one entry of hubot-deploy's apps.json.
type hubotApp map[string]json.RawMessage

// ImportHubotApps converts hubot-deploy's apps.json into an `apps:` YAML
// block. Secrets become ${VARIABLE} references; what has no equivalent is
// reported in the warnings.
func ImportHubotApps(data []byte) (string, []string, error) {
	var in map[string]hubotApp
	if err := json.Unmarshal(data, &in); err != nil {
		return "", nil, fmt.Errorf("apps.json: %w", err)
	}
	names := make([]string, 0, len(in))
	for n := range in {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	var warns []string
	b.WriteString("apps:\n")
	for _, name := range names {
		app := in[name]
		warn := func(format string, args ...any) { warns = append(warns, name+": "+fmt.Sprintf(format, args...)) }
		str := func(key string) string {
			var s string
			if raw, ok := app[key]; ok {
				if err := json.Unmarshal(raw, &s); err != nil {
					warn("%s is not a string; left out", key)
				}
			}
			return s
		}
		list := func(key string) []string {
			var l []string
			if raw, ok := app[key]; ok {
				if err := json.Unmarshal(raw, &l); err != nil {
					warn("%s is not a list of strings; left out", key)
				}
			}
			return l
		}
		used := map[string]bool{}
		use := func(keys ...string) {
			for _, k := range keys {
				used[k] = true
			}
		}
		use("provider", "repository", "environments", "required_contexts", "auto_merge", "allowed_rooms")
		envs := list("environments")
		if len(envs) == 0 {
			envs = []string{"production"}
		}
		fmt.Fprintf(&b, "  %s:\n", q(name))
		repo := str("repository")
		if repo != "" {
			fmt.Fprintf(&b, "    repository: %s\n    github: {token: \"${GITHUB_TOKEN}\"}\n", q(repo))
		}
		if raw, ok := app["auto_merge"]; ok {
			var am bool
			if json.Unmarshal(raw, &am) == nil && am {
				b.WriteString("    auto_merge: true\n")
			}
		}
		if rc := list("required_contexts"); len(rc) > 0 {
			fmt.Fprintf(&b, "    required_contexts: %s\n", ql(rc))
		}
		if ar := list("allowed_rooms"); len(ar) > 0 {
			fmt.Fprintf(&b, "    allowed_rooms: %s\n", ql(ar))
		}
		if !contains(envs, DefaultEnvironment) {
			fmt.Fprintf(&b, "    default_environment: %s\n", q(envs[0]))
		}
		provider := str("provider")
		switch provider {
		case "heroku":
			heroku := ""
			for _, env := range envs {
				key := "heroku_" + env + "_name"
				use(key)
				if n := str(key); n != "" {
					if heroku != "" && n != heroku {
						warn("heroku app %s for %s: opsbot has one Heroku app per opsbot app; add an app per environment", n, env)
						continue
					}
					heroku = n
				}
			}
			if heroku == "" {
				heroku = name
				warn("no heroku_<env>_name; using %q", name)
			}
			fmt.Fprintf(&b, "    provider: heroku\n    git_url: %s\n    heroku: {app: %s, api_key: \"${HEROKU_API_KEY}\"}\n", q(gitURL(repo)), q(heroku))
		case "capistrano", "bundler_capistrano":
			fmt.Fprintf(&b, "    provider: shell\n    git_url: %s\n    checkout: true\n    shell: {command: [bundle, exec, cap, \"{env}\", \"{task}\"]}\n", q(gitURL(repo)))
		case "fabric":
			fmt.Fprintf(&b, "    provider: shell\n    git_url: %s\n    checkout: true\n    shell: {command: [fab, \"--set\", \"environment={env},branch={ref}\", \"{task}\"]}\n", q(gitURL(repo)))
		case "ansible":
			fmt.Fprintf(&b, "    provider: shell\n    git_url: %s\n    checkout: true\n    shell: {command: [ansible-playbook, \"-i\", \"inventories/{env}\", \"-e\", \"version={sha}\", deploy.yml]}\n", q(gitURL(repo)))
		default:
			if provider != "" && provider != "shell" {
				warn("provider %q has no opsbot equivalent; converted to a shell provider running script/deploy", provider)
			}
			fmt.Fprintf(&b, "    provider: shell\n    git_url: %s\n    checkout: true\n    shell: {command: [script/deploy]}\n", q(gitURL(repo)))
		}
		b.WriteString("    environments:\n")
		for _, env := range envs {
			fmt.Fprintf(&b, "      %s: {}\n", q(env))
		}
		keys := make([]string, 0, len(app))
		for k := range app {
			if !used[k] {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			warn("%s has no opsbot equivalent; left out", k)
		}
	}
	// What was written must load as an apps section.
	var check struct {
		Apps Apps `yaml:"apps"`
	}
	if err := yaml.Unmarshal([]byte(b.String()), &check); err != nil {
		return "", warns, fmt.Errorf("converted apps do not parse: %w", err)
	}
	if err := check.Apps.Validate(); err != nil {
		return b.String(), warns, fmt.Errorf("converted apps are not valid: %w", err)
	}
	return b.String(), warns, nil
}

func gitURL(repo string) string {
	if repo == "" {
		return ""
	}
	return "https://github.com/" + repo + ".git"
}

// q quotes a YAML scalar (JSON strings are YAML).
func q(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func ql(ss []string) string {
	b, _ := json.Marshal(ss)
	return string(b)
}
