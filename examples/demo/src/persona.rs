//! Who the simulated collaborators are: a user id, a name and a role in the estimate.

use tether_reference_server::Role;

/// One simulated person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Persona {
    /// User id (the JWT's `sub`, the roster's `userId`).
    pub user_id: &'static str,
    /// Display name.
    pub name: &'static str,
    /// What the server lets them do: viewers' pricing updates are refused (`forbidden`).
    pub role: Role,
}

impl Persona {
    /// True if the server accepts this person's pricing updates.
    pub fn can_write(&self) -> bool {
        self.role.can_write()
    }

    /// The role as the server spells it.
    pub fn role_name(&self) -> &'static str {
        match self.role {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Owner => "owner",
        }
    }
}

/// The cast, in order: an owner and an editor who both price the estimate (and so sometimes
/// collide), and a viewer whose occasional edit attempts are refused and roll back.
pub const CAST: [Persona; 3] = [
    Persona { user_id: "ana", name: "Ana", role: Role::Owner },
    Persona { user_id: "ben", name: "Ben", role: Role::Editor },
    Persona { user_id: "cleo", name: "Cleo", role: Role::Viewer },
];

/// The first `count` members of the cast (at most all of it).
pub fn cast(count: usize) -> &'static [Persona] {
    &CAST[..count.min(CAST.len())]
}

/// The estimate's fields, with the amount each starts around.
pub const FIELDS: [(&str, i64); 5] =
    [("labor", 1200), ("materials", 850), ("equipment", 300), ("overhead", 150), ("margin", 15)];
