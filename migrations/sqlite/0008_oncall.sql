-- The on-call rota: teams and the ticket categories they handle, rotations (members taking
-- turns), overrides (someone covering), and each team's escalation policy.
CREATE TABLE teams (
    name TEXT PRIMARY KEY,
    time_zone TEXT NOT NULL,
    lead TEXT REFERENCES users (name) ON DELETE SET NULL,
    business_hours TEXT NOT NULL
);

CREATE TABLE team_members (
    team TEXT NOT NULL REFERENCES teams (name) ON DELETE CASCADE,
    user_name TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    PRIMARY KEY (team, user_name)
);

-- A category is handled by one team.
CREATE TABLE team_categories (
    category TEXT PRIMARY KEY,
    team TEXT NOT NULL REFERENCES teams (name) ON DELETE CASCADE
);

CREATE TABLE rotations (
    team TEXT NOT NULL REFERENCES teams (name) ON DELETE CASCADE,
    name TEXT NOT NULL,
    coverage TEXT NOT NULL,
    handover TEXT NOT NULL,
    starts_on TEXT NOT NULL,
    PRIMARY KEY (team, name)
);

CREATE TABLE rotation_members (
    team TEXT NOT NULL,
    rotation TEXT NOT NULL,
    turn INTEGER NOT NULL,
    user_name TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    PRIMARY KEY (team, rotation, turn),
    FOREIGN KEY (team, rotation) REFERENCES rotations (team, name) ON DELETE CASCADE
);

CREATE TABLE rota_overrides (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    team TEXT NOT NULL REFERENCES teams (name) ON DELETE CASCADE,
    covering TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    covered TEXT REFERENCES users (name) ON DELETE CASCADE,
    starts_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL
);
CREATE INDEX rota_overrides_team ON rota_overrides (team, ends_at);

CREATE TABLE escalation_steps (
    team TEXT NOT NULL REFERENCES teams (name) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    position TEXT NOT NULL,
    ring_secs INTEGER NOT NULL,
    PRIMARY KEY (team, step)
);
