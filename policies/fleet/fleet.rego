# Fleet rules: every deployment reaches the whole fleet, and nothing is switched on while
# the fleet is mixed.
#
# Python prepares the joins: each deployment's per-host status and the observations that
# fall in its window, each flag event's last good deployment and last observations. These
# rules only look things up.
package knightwatch.fleet

import rego.v1

import data.knightwatch.lib

# The inventory as sets, one per service.
fleet_hosts[service] := {host | some host in hosts} if {
	some service, hosts in input.fleet
}

# Hosts that did not end up running the deployment: every host fleet.yaml lists for its
# service, every target the deployment itself names (listed or not: a target it says it
# skipped is a host it did not reach) and every unlisted target of the deployment before it
# that it leaves out (dropped_targets), less those that succeeded. None where Python found all
# of them succeeded and left them out (succeeded_everywhere).
missing_hosts(deployment) := set() if {
	deployment.succeeded_everywhere == true
} else := hosts_of(deployment) - {host | some host in deployment.succeeded_hosts}

hosts_of(deployment) := union({
	fleet_hosts[deployment.service],
	object.keys(deployment.target_status),
	object.keys(dropped(deployment)),
})

dropped(deployment) := object.get(deployment, "dropped_targets", {})

status_of(deployment, host) := object.get(
	deployment.target_status,
	host,
	object.get(dropped(deployment), host, "absent from its targets"),
)

# A target is a host or, where fleet.yaml lists the service's clusters, a cluster: messages
# name it as what it is. One fleet.yaml does not list is named as FLEET-004 names it.
default target_kind(_, _) := "host"

named_kind(service, name) := target_kind(service, name) if {
	name in fleet_hosts[service]
} else := unlisted_kind(service)

target_kind(service, name) := "cluster" if {
	some cluster in input.clusters[service]
	cluster == name
}

capitalised(word) := concat("", [
	upper(substring(word, 0, 1)),
	substring(word, 1, count(word) - 1),
])

# METADATA
# title: Deployment reached every host of its service
# description: >-
#   Every host fleet.yaml lists for the service, and every target the deployment itself names,
#   must be `succeeded` in each deployment. A host missing from the deployment's targets counts
#   as not succeeded: deploy tools drop unreachable hosts from their summaries. A target the
#   deployment names as skipped, failed or unreachable is a host it did not reach whether or not
#   fleet.yaml lists it (an inventory that leaves a server out must not hide it; FLEET-004 says
#   the inventory is incomplete). So is a target of the deployment before it that fleet.yaml
#   does not list and this deployment leaves out: the host ran the service. Knight Capital's
#   new code reached seven of its eight SMARS servers.
# custom:
#   id: FLEET-001
#   per_deployment: true
#   subject: "{deployment}:{host}"
#   cause: "{service}/{host}"
#   statement: Deployments of {service} did not reach {host}
#   severity: critical
#   controls:
#     - SOX ITGC change management
#     - NIST SP 800-53 CM-3
#     - NIST SP 800-53 CM-8
#     - SEC Rule 15c3-5(b)
#     - SEC Regulation SCI 1001(a)
#   requires: [deploys, fleet, reach]
#   message: >-
#     Deployment {deployment} of {service} to {environment} did not reach {kind} {host}: {status}.
incomplete_deployment contains finding if {
	some deployment in input.deployments
	some host in missing_hosts(deployment)
	finding := {
		"subject": lib.pair(deployment.id, host),
		"deployment": deployment.id,
		"service": deployment.service,
		"environment": deployment.environment,
		"host": host,
		"kind": named_kind(deployment.service, host),
		"status": status_of(deployment, host),
	}
}

# METADATA
# title: Hosts run what was deployed until the next deployment
# description: >-
#   After a deployment finished, and before the next deployment of the same service and
#   environment started, every observation of a host of the service must show the deployed
#   commit. Versions compare by the commit they resolve to. The window includes the instant
#   the deployment finished (plus observation_grace_seconds), or where the deployment says when
#   each target finished (a cluster's own sync), the instant that host did; it excludes the
#   instant the next one started. While the next one rolls out, until it reached the host, an
#   observation of another commit than the next one's is judged here too (the host runs this
#   deployment's commit or the next one's). A cluster's observation counts its pods.
# custom:
#   id: FLEET-002
#   per_deployment: true
#   subject: "{deployment}:{host}"
#   cause: "{service}/{host}"
#   statement: "{host} of {service} was observed running another version than was deployed"
#   severity: critical
#   controls:
#     - NIST SP 800-53 CM-2
#     - NIST SP 800-53 CM-8
#     - NIST SP 800-53 SI-7
#     - SEC Regulation SCI 1001(a)
#   requires: [windows, observations]
#   message: >-
#     {Kind} {host} was observed running {observed} at {observed_at}, not {deployed} from
#     deployment {deployment} ({wrong} of {total} {counted} {judged}).
drifted_host contains finding if {
	some deployment in input.deployments
	some host, observations in deployment.window_observations
	finding := drift(deployment, host, observations)
}

# In a monthly audit, the windows of earlier months' deployments that hold the month's
# observations (with those alone): a host that drifts back after its deployment's month was
# attested is judged by the month it drifted in.
drifted_host contains finding if {
	some deployment in input.carried_windows
	some host, observations in deployment.window_observations
	finding := drift(deployment, host, observations)
}

drift(deployment, host, observations) := finding if {
	starts := object.get(deployment, "window_starts", {})
	start := object.get(starts, host, deployment.finished_at_ns)
	considered := [o |
		some o in observations
		o.observed_at_ns >= start + grace_ns
	]
	wrong := [o | some o in considered; o.commit != deployment.commit]
	count(wrong) > 0
	kind := target_kind(deployment.service, host)
	finding := {
		"subject": lib.pair(deployment.id, host),
		"host": host,
		"Kind": capitalised(kind),
		"deployment": deployment.id,
		"service": deployment.service,
		"deployed": deployment.short_commit,
		"observed": wrong[0].short,
		"observed_at": wrong[0].observed_at,
		"wrong": sum([object.get(o, "count", 1) | some o in wrong]),
		"total": sum([object.get(o, "count", 1) | some o in considered]),
		"counted": counted_as[kind],
		"judged": object.get(object.get(deployment, "window_judged", {}), host, between),
	}
}

# Which observations a window judged, in FLEET-002's message: those between the deployment and
# the next, but for a target of a deployment without finished_at judged on part of them
# (window_judged says which).
between := "between that deployment and the next disagree"

# A cluster's observation is a listing of its pods: the rule counts the pods.
counted_as := {"host": "observations", "cluster": "pods observed"}

# Hosts may report the old version for this long after a deployment finished
# (observation_grace_seconds in knightwatch.yaml).
default grace_ns := 0

grace_ns := data.knightwatch.params.observation_grace_ns

# METADATA
# title: No flag switched on while the fleet runs mixed versions
# description: >-
#   A flag must not be enabled on a service while its hosts run different versions: when the
#   latest deployment that started at or before the event and succeeded anywhere did not
#   succeed on every host of the service and every target it names, listed or not (by the
#   event: a target that finished after it had not), or when the latest observations of its
#   hosts at or before the event disagree.
#   This is the rule that would have stopped 1 August 2012.
# custom:
#   id: FLEET-003
#   subject: "{flag}@{at}"
#   severity: critical
#   controls:
#     - NIST SP 800-53 CM-3
#     - NIST SP 800-53 CM-4
#     - SEC Rule 15c3-5(b)
#     - SEC Regulation SCI 1001(a)
#   requires: [flag_events, fleet]
#   optional: [deploys, observations]
#   message: >-
#     Flag {flag} was switched on for {service} in {environment} at {at} by {by} while its
#     {members} ran different versions: {detail}.
mixed_fleet_flag contains finding if {
	some event in input.flag_events
	event.enabled == true
	parts := deployment_gap(event) | observation_gap(event)
	count(parts) > 0
	finding := {
		"subject": lib.event(event.flag, event.at),
		"flag": event.flag,
		"service": event.service,
		"environment": event.environment,
		"at": event.at,
		"by": event.by,
		"members": members(event.service),
		"detail": concat("; ", sort(parts)),
	}
}

# What a service's targets are, in words: hosts, clusters, or both.
members(service) := "clusters" if {
	count(object.get(input.clusters, service, [])) > 0
	count(object.get(input.clusters, service, [])) == count(fleet_hosts[service])
} else := "hosts and clusters" if {
	count(object.get(input.clusters, service, [])) > 0
} else := "hosts"

deployment_gap(event) := {text |
	deployment := event.last_deployment
	missing := missing_hosts(deployment)
	count(missing) > 0
	hosts := sort([sprintf("%s (%s)", [host, status_of(deployment, host)]) | some host in missing])
	text := sprintf("deployment %s of %s did not succeed on %s", [
		deployment.id,
		deployment.short_commit,
		concat(", ", hosts),
	])
}

observation_gap(event) := {text |
	count(event.observed_by_version) > 1
	groups := [sprintf("%s on %s", [event.short_commits[commit], concat(", ", hosts)]) |
		some commit, hosts in event.observed_by_version
	]
	text := sprintf("last observed %s", [concat("; ", sort(groups))])
}

# METADATA
# title: Deployment targets only hosts in the inventory
# description: >-
#   A deployment must not target a host that fleet.yaml does not list for its service: either
#   the inventory is incomplete, so the fleet rules cannot see that host, or the deployment
#   went somewhere it should not have.
# custom:
#   id: FLEET-004
#   per_deployment: true
#   subject: "{deployment}:{host}"
#   cause: "{service}/{host}"
#   statement: Deployments of {service} targeted {host}, which fleet.yaml does not list
#   severity: medium
#   controls:
#     - NIST SP 800-53 CM-8
#     - SOX ITGC change management
#   requires: [deploys, fleet]
#   message: >-
#     Deployment {deployment} of {service} targeted {kind} {host}, which fleet.yaml does not
#     list for {service}.
unlisted_target contains finding if {
	some deployment in input.deployments
	listed := fleet_hosts[deployment.service] # services outside the inventory are not judged
	some host in object.keys(deployment.target_status) - listed
	finding := {
		"subject": lib.pair(deployment.id, host),
		"deployment": deployment.id,
		"service": deployment.service,
		"host": host,
		"kind": unlisted_kind(deployment.service),
	}
}

# A target outside the inventory of a service that runs on clusters is a cluster.
unlisted_kind(service) := "cluster" if {
	count(object.get(input.clusters, service, [])) > 0
	count(object.get(input.clusters, service, [])) == count(fleet_hosts[service])
} else := "host"

# Every finding of the rules above, with its rule id and message, for `opa eval` and
# `conftest test` on exported input (knightwatch reads each rule and its METADATA itself).
deny contains result if {
	some finding in incomplete_deployment
	result := lib.result("FLEET-001", finding)
}

deny contains result if {
	some finding in drifted_host
	result := lib.result("FLEET-002", finding)
}

deny contains result if {
	some finding in mixed_fleet_flag
	result := lib.result("FLEET-003", finding)
}

deny contains result if {
	some finding in unlisted_target
	result := lib.result("FLEET-004", finding)
}
