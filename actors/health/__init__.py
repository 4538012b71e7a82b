"""The HA monitor's pure policy: health states from heartbeats and device states,
alert levels and de-duplication, uptime/MTTR/score reports. No actors, no storage:
the HA monitor actor calls these and persists what they decide."""
