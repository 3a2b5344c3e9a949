package knightwatch.fleet_test

import rego.v1

import data.knightwatch.fleet

subjects(findings) := {f.subject | some f in findings}

hosts := ["h1", "h2", "h3"]

deployment(id, statuses, overrides) := object.union(
	{
		"id": id,
		"service": "svc",
		"environment": "prod",
		"commit": "c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2",
		"short_commit": "c2c2c2c2c2c2",
		"target_status": statuses,
		"succeeded_hosts": [h | some h, s in statuses; s == "succeeded"],
		"window_observations": {},
		"finished_at_ns": 0,
	},
	overrides,
)

all_ok := {"h1": "succeeded", "h2": "succeeded", "h3": "succeeded"}

old := "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1"

new := "c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2"

short := {old: "c1c1c1c1c1c1", new: "c2c2c2c2c2c2"}

observation(host, commit, at) := {
	"host": host,
	"version": commit,
	"commit": commit,
	"short": short[commit],
	"observed_at": at,
	"observed_at_ns": 0,
}

# The inventory of hosts, and these deployments.
inventory(deployments) := {"fleet": {"svc": hosts}, "deployments": deployments}

# FLEET-001

test_all_hosts_succeeded_passes if {
	count(fleet.incomplete_deployment) == 0 with input as inventory([deployment("D1", all_ok, {})])
}

test_failed_skipped_unreachable_and_absent_hosts_fail if {
	d := deployment("D1", {"h1": "failed", "h2": "skipped", "h4": "succeeded"}, {})
	findings := fleet.incomplete_deployment with input as {
		"fleet": {"svc": ["h1", "h2", "h3", "h5"]},
		"deployments": [d],
	}
	subjects(findings) == {"D1:h1", "D1:h2", "D1:h3", "D1:h5"}
	{f.host: f.status | some f in findings} == {
		"h1": "failed",
		"h2": "skipped",
		"h3": "absent from its targets",
		"h5": "absent from its targets",
	}
}

# An unlisted target of the deployment before, which this one leaves out, is a host it did not
# reach (FLEET-001, with the status Python gives), but not one it targeted (no FLEET-004).
test_a_dropped_unlisted_target_is_not_reached_nor_targeted if {
	why := "absent from its targets (deployment D1 targeted it; fleet.yaml does not list it)"
	d := deployment("D2", all_ok, {"dropped_targets": {"h8": why}})
	findings := fleet.incomplete_deployment with input as inventory([d])
	{f.subject: f.status | some f in findings} == {"D2:h8": why}
	count(fleet.unlisted_target) == 0 with input as inventory([d])
}

# Where every listed host succeeded, Python leaves the listed targets out of the input.
test_succeeded_everywhere_passes_with_listed_targets_left_out if {
	d := deployment("D1", {}, {"succeeded_everywhere": true})
	count(fleet.incomplete_deployment) == 0 with input as inventory([d])
}

test_succeeded_everywhere_still_shows_unlisted_targets if {
	d := deployment("D1", {"h9": "succeeded"}, {"succeeded_everywhere": true})
	subjects(fleet.unlisted_target) == {"D1:h9"} with input as inventory([d])
	count(fleet.incomplete_deployment) == 0 with input as inventory([d])
}

# A target the deployment names as not succeeded is a host it did not reach, whether or not
# fleet.yaml lists it: Knight's inventory could have left out the eighth server the deploy
# tool skipped, and FLEET-004 (medium) alone let the check pass.
test_an_unlisted_target_that_did_not_succeed_is_fleet_001 if {
	statuses := object.union(all_ok, {
		"h8": "skipped (release task was skipped)",
		"h9": "succeeded",
	})
	d := deployment("D1", statuses, {})
	findings := fleet.incomplete_deployment with input as inventory([d])
	subjects(findings) == {"D1:h8"}
	{[f.host, f.kind, f.status] | some f in findings} == {
		["h8", "host", "skipped (release task was skipped)"],
	}
	subjects(fleet.unlisted_target) == {"D1:h8", "D1:h9"} with input as inventory([d])
}

test_an_unlisted_cluster_that_did_not_sync_is_named_as_a_cluster if {
	given := clusters_input({"eu": "succeeded", "us": "succeeded", "ap": "failed"}, {})
	findings := fleet.incomplete_deployment with input as given
	{[f.subject, f.kind] | some f in findings} == {["D1:ap", "cluster"]}
}

# Without it, listed targets are judged one by one, as for a flag event's deployment.
test_succeeded_everywhere_false_judges_each_host if {
	d := deployment("D1", {"h1": "succeeded"}, {"succeeded_everywhere": false})
	subjects(fleet.incomplete_deployment) == {"D1:h2", "D1:h3"} with input as inventory([d])
}

test_unreachable_host_fails if {
	d := deployment("D1", {"h1": "succeeded", "h2": "succeeded", "h3": "unreachable"}, {})
	subjects(fleet.incomplete_deployment) == {"D1:h3"} with input as inventory([d])
}

test_service_missing_from_fleet_is_not_fleet_001 if {
	d := deployment("D1", all_ok, {"service": "other"})
	count(fleet.incomplete_deployment) == 0 with input as inventory([d])
}

# FLEET-004

test_unlisted_target_fails if {
	d := deployment("D1", {"h1": "succeeded", "h9": "failed"}, {})
	subjects(fleet.unlisted_target) == {"D1:h9"} with input as inventory([d])
}

# A service outside the inventory reaches the rules only when knightwatch.yaml lists it in
# unlisted_services (any other is an input error): its hosts are not judged.
test_service_outside_the_inventory_is_not_judged if {
	d := deployment("D1", {"h1": "succeeded"}, {"service": "other"})
	count(fleet.unlisted_target) == 0 with input as inventory([d])
}

test_listed_targets_pass if {
	count(fleet.unlisted_target) == 0 with input as inventory([deployment("D1", all_ok, {})])
}

# FLEET-002

test_observation_of_another_version_fails if {
	d := deployment("D1", all_ok, {"window_observations": {
		"h1": [observation("h1", new, "t1")],
		"h3": [
			observation("h3", new, "t1"),
			observation("h3", old, "t2"),
			observation("h3", old, "t3"),
		],
	}})
	findings := fleet.drifted_host with input as {"deployments": [d]}
	subjects(findings) == {"D1:h3"}
	some f in findings
	f.observed == "c1c1c1c1c1c1"
	f.observed_at == "t2" # the first disagreeing observation
	f.wrong == 2
	f.total == 3
}

test_observations_within_the_grace_period_pass if {
	late := object.union(observation("h1", old, "t2"), {"observed_at_ns": 1060})
	early := object.union(observation("h1", old, "t1"), {"observed_at_ns": 1030})
	d := deployment("D1", all_ok, {
		"finished_at_ns": 1000,
		"window_observations": {"h1": [early, late]},
	})
	findings := fleet.drifted_host with input as {"deployments": [d]}
		with data.knightwatch.params.observation_grace_ns as 60
	{[f.observed_at, f.total] | some f in findings} == {["t2", 1]}
	only_early := object.union(d, {"window_observations": {"h1": [early]}})
	count(fleet.drifted_host) == 0 with input as {"deployments": [only_early]}
		with data.knightwatch.params.observation_grace_ns as 60
}

test_a_window_carried_into_the_month_is_judged if {
	# a monthly audit's input carries the window of last month's deployment, with the
	# month's observations alone: the host that drifted back in the month is found
	agrees := {"h1": [observation("h1", new, "t")]}
	drifted := {"h3": [observation("h3", old, "t2")]}
	judged := deployment("D2", all_ok, {"window_observations": agrees})
	carried := deployment("D1", all_ok, {"window_observations": drifted})
	input_doc := {"deployments": [judged], "carried_windows": [carried]}
	findings := fleet.drifted_host with input as input_doc
	subjects(findings) == {"D1:h3"}
}

test_observations_of_the_deployed_version_pass if {
	d := deployment("D1", all_ok, {"window_observations": {"h1": [observation("h1", new, "t")]}})
	count(fleet.drifted_host) == 0 with input as {"deployments": [d]}
}

# FLEET-003

event(overrides) := object.union(
	{
		"flag": "power_peg",
		"service": "svc",
		"environment": "prod",
		"enabled": true,
		"at": "2012-08-01T13:30:00Z",
		"by": "ops",
		"last_deployment": null,
		"observed_by_version": {},
		"short_commits": short,
	},
	overrides,
)

# The inventory, these deployments and these flag events.
events(deployments, flag_events) := object.union(
	inventory(deployments),
	{"flag_events": flag_events},
)

test_flag_on_after_partial_deployment_fails if {
	d := deployment("D1", {"h1": "succeeded", "h2": "succeeded"}, {})
	findings := fleet.mixed_fleet_flag with input as events([d], [event({"last_deployment": d})])
	subjects(findings) == {"power_peg@2012-08-01T13:30:00Z"}
	some f in findings
	f.detail == "deployment D1 of c2c2c2c2c2c2 did not succeed on h3 (absent from its targets)"
}

test_flag_on_with_disagreeing_observations_fails if {
	d := deployment("D1", all_ok, {})
	e := event({"observed_by_version": {new: ["h1", "h2"], old: ["h3"]}, "last_deployment": d})
	findings := fleet.mixed_fleet_flag with input as events([d], [e])
	some f in findings
	f.detail == "last observed c1c1c1c1c1c1 on h3; c2c2c2c2c2c2 on h1, h2"
}

test_both_gaps_are_named if {
	d := deployment("D1", {"h1": "succeeded"}, {})
	e := event({"observed_by_version": {new: ["h1"], old: ["h2", "h3"]}, "last_deployment": d})
	findings := fleet.mixed_fleet_flag with input as events([d], [e])
	some f in findings
	startswith(f.detail, concat("", [
		"deployment D1 of c2c2c2c2c2c2 did not succeed on h2 (absent from its targets), ",
		"h3 (absent from its targets); last observed",
	]))
}

# Every inventory host succeeded, but the deployment skipped a host fleet.yaml leaves out:
# that host still runs the old code when the flag goes on.
test_flag_on_after_a_deployment_that_skipped_an_unlisted_host_fails if {
	d := deployment("D1", object.union(all_ok, {"h8": "skipped"}), {})
	findings := fleet.mixed_fleet_flag with input as events([d], [event({"last_deployment": d})])
	{f.detail | some f in findings} == {
		"deployment D1 of c2c2c2c2c2c2 did not succeed on h8 (skipped)",
	}
}

test_flag_disabled_while_mixed_passes if {
	d := deployment("D1", {"h1": "succeeded"}, {})
	off := event({"enabled": false, "last_deployment": d})
	count(fleet.mixed_fleet_flag) == 0 with input as events([d], [off])
}

test_flag_on_with_uniform_fleet_passes if {
	d := deployment("D1", all_ok, {})
	e := event({"observed_by_version": {new: hosts}, "last_deployment": d})
	count(fleet.mixed_fleet_flag) == 0 with input as events([d], [e])
}

test_flag_on_with_no_prior_deployment_and_no_observations_passes if {
	count(fleet.mixed_fleet_flag) == 0 with input as events([], [event({})])
}

# Clusters: targets like hosts, named as clusters in messages.

clusters_input(statuses, windows) := {
	"fleet": {"svc": ["eu", "us"]},
	"clusters": {"svc": ["eu", "us"]},
	"deployments": [deployment("D1", statuses, {"window_observations": windows})],
}

test_a_cluster_the_rollout_missed_is_named_as_a_cluster if {
	findings := fleet.incomplete_deployment with input as clusters_input({"eu": "succeeded"}, {})
	subjects(findings) == {"D1:us"}
	some finding in findings
	finding.kind == "cluster"
}

test_hosts_stay_hosts if {
	d := deployment("D1", {"h1": "succeeded"}, {})
	findings := fleet.incomplete_deployment with input as inventory([d])
	{f.kind | some f in findings} == {"host"}
}

test_a_partly_rolled_out_cluster_fails if {
	windows := {"eu": [observation("eu", new, "t"), observation("eu", old, "t")]}
	statuses := {"eu": "succeeded", "us": "succeeded"}
	findings := fleet.drifted_host with input as clusters_input(statuses, windows)
	subjects(findings) == {"D1:eu"}
	some finding in findings
	finding.Kind == "Cluster"
	finding.wrong == 1
	finding.total == 2
}

test_a_cluster_outside_the_inventory_is_named_as_a_cluster if {
	statuses := {"eu": "succeeded", "us": "succeeded", "ap": "succeeded"}
	findings := fleet.unlisted_target with input as clusters_input(statuses, {})
	subjects(findings) == {"D1:ap"}
	some finding in findings
	finding.kind == "cluster"
}

test_deny_gives_each_finding_its_rule_and_message if {
	template := "{deployment} missed {kind} {host}."
	catalog := {"FLEET-001": {"message": template, "severity": "critical"}}
	results := fleet.deny with input as inventory([deployment("D1", {"h1": "succeeded"}, {})])
		with data.knightwatch.rules as catalog
	{r.msg | some r in results} == {"D1 missed host h2.", "D1 missed host h3."}
	{r.rule | some r in results} == {"FLEET-001"}
}

pods_of(commit, n) := object.union(observation("eu", commit, "t"), {"count": n})

test_a_cluster_listing_counts_its_pods if {
	windows := {"eu": [pods_of(new, 1), pods_of(old, 2)]}
	given := clusters_input({"eu": "succeeded", "us": "succeeded"}, windows)
	findings := fleet.drifted_host with input as given
	some finding in findings
	[finding.wrong, finding.total, finding.counted] == [2, 3, "pods observed"]
}

test_a_cluster_is_judged_from_its_own_finish if {
	seen := object.union(observation("eu", old, "t"), {"observed_at_ns": 1500})
	late := deployment("D1", {"eu": "succeeded", "us": "succeeded"}, {
		"finished_at_ns": 2000, # the slowest cluster's
		"window_starts": {"eu": 1000},
		"window_observations": {"eu": [seen]},
	})
	clusters := {"svc": ["eu", "us"]}
	given := {"clusters": clusters, "deployments": [late]}
	subjects(fleet.drifted_host) == {"D1:eu"} with input as given
	not_yet := object.union(late, {"window_starts": {"eu": 1800}})
	count(fleet.drifted_host) == 0 with input as {"clusters": clusters, "deployments": [not_yet]}
}

test_a_flag_over_clusters_names_them_as_clusters if {
	d := deployment("D1", {"eu": "succeeded"}, {})
	events := {"flag_events": [event({"last_deployment": d})]}
	given := object.union(clusters_input({"eu": "succeeded"}, {}), events)
	findings := fleet.mixed_fleet_flag with input as given
	{f.members | some f in findings} == {"clusters"}
	mixed := object.union(given, {"fleet": {"svc": ["eu", "us", "h1"]}})
	{f.members | some f in fleet.mixed_fleet_flag} == {"hosts and clusters"} with input as mixed
	hosts_only := object.remove(given, ["clusters"])
	{f.members | some f in fleet.mixed_fleet_flag} == {"hosts"} with input as hosts_only
}
